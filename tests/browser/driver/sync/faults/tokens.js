// tokens.js: a getToken for open() that counts its calls (tests/browser/driver/sync/faults/auth.rs).

// `answer` null: it throws (signed out); otherwise it resolves to `answer`.
export function countingGetToken(answer) {
  const f = () => {
    f.calls++;
    if (answer === null) throw new Error("signed out");
    return Promise.resolve(answer);
  };
  f.calls = 0;
  return f;
}

export function callsOf(f) { return f.calls; }

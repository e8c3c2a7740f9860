// session.js: the demo's sign-in (a development user and token kept in localStorage), the store it opens, and sign-out (which deletes the local database).
import { OfflineStore } from "offline-tables";

const KEY = "field-service.session";
/** The reference server's development users (demo/tokens.json). */
export const USERS = [
  { id: "alice", name: "Alice Martin", token: "dev-token-alice" },
  { id: "bob", name: "Bob Durand", token: "dev-token-bob" },
  { id: "carol", name: "Carol Petit", token: "dev-token-carol" },
];

/** `{ user, token }` of the signed-in user, or null. */
export function current() {
  try {
    const s = JSON.parse(localStorage.getItem(KEY));
    return s && typeof s.user === "string" && typeof s.token === "string" ? s : null;
  } catch {
    return null;
  }
}

export function signIn(user) {
  localStorage.setItem(KEY, JSON.stringify({ user: user.id, token: user.token }));
}

/** Each user has a local database of their own: signing in as someone else never mixes rows. */
export const databaseName = (session) => `field-service-${session.user}`;

/**
 * Opens the signed-in user's store, syncing with this page's origin (the server serves the app and the API).
 * The first launch needs the network (the profile comes from the server and is kept); later launches open offline.
 */
export async function openStore(session) {
  const store = await OfflineStore.open({
    name: databaseName(session),
    server: { url: location.origin, token: session.token },
    // Bound to its user: a store of someone else is refused (user_mismatch), never served.
    user: session.user,
  });
  // The app's data code is plain fetch('/api/data/…') or axios (XMLHttpRequest): where the store can
  // answer it locally, let it, so the same code works offline. Without interception it goes to the server.
  store.interceptRequests({ prefix: "/api/data/" });
  return store;
}

// Whether this user's first download finished on this device. The store reports
// `initialSync.done` from its own record only once it starts syncing, so a launch while
// offline would otherwise show "downloading" over data that is all there.
const downloadedKey = (session) => `field-service.downloaded.${session.user}`;
export const wasDownloaded = (session) => localStorage.getItem(downloadedKey(session)) === "1";
export const markDownloaded = (session) => localStorage.setItem(downloadedKey(session), "1");

/** Forgets the user and deletes their local database, unsynced changes included. */
export async function signOut(store, session) {
  localStorage.removeItem(KEY);
  localStorage.removeItem(downloadedKey(session));
  store?.close();
  await OfflineStore.deleteDatabase(databaseName(session));
}

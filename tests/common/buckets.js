// buckets.js: runs a browser test's IndexedDB in a Storage Bucket of its own (a quota of its own, deletable as "clear
// site data" would delete it) by swapping globalThis.indexedDB until restore(). A browser without Storage Buckets
// fails the test that asks for one: it cannot run here, so it does not pass.
let saved = null;
let bucketName = null;

export async function useBucket(prefix, quota) {
  if (!(navigator.storageBuckets && navigator.storageBuckets.open)) {
    throw new Error("this browser has no Storage Buckets API (navigator.storageBuckets), which this test needs");
  }
  bucketName = prefix + "-" + String(Math.random()).slice(2);
  const bucket = await navigator.storageBuckets.open(bucketName, quota ? { quota } : {});
  saved = Object.getOwnPropertyDescriptor(globalThis, "indexedDB");
  Object.defineProperty(globalThis, "indexedDB", { value: bucket.indexedDB, configurable: true, writable: true });
  return (await bucket.estimate()).quota;
}

export async function deleteBucket() {
  if (bucketName) await navigator.storageBuckets.delete(bucketName);
  bucketName = null;
}

export async function restore() {
  if (saved) Object.defineProperty(globalThis, "indexedDB", saved);
  saved = null;
  await deleteBucket();
}

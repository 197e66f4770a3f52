// Teaching, part of the pool (static/worker.js, which loads this file with
// importScripts and shares its globals: post, pool, jobs, loaded, dispatch,
// withWeights, ensureLoaded): the Teach panel's messages, the taught head,
// and their store in the browser's IndexedDB.
//
// Teaching a new last layer on the user's photos (the page's Teach panel;
// shared/teach through wasm/worker's pawnet.features, teach, setHead,
// useHead and exportTaught). Each photo's features (its penultimate
// activations and its mirror's) are computed on the pool, like a photo's
// classification, and kept here by photo id; the fit runs on one pool
// worker; its head is then set on every pool worker (and on each one that
// loads weights later), so that all classify with it. The features, the
// labels, the class names and the head, never the photos, are kept in the
// browser's IndexedDB (database "pawnet", store "teach"), so that a reload
// restores them. Features or a head of another width than the loaded
// weights' (another architecture) are not used, and the page is told why.
// Page → worker (features, teach and exportTaught wait for the weights as
// classify does, and carry the same version, run and weights):
//   {type: "features", jobs: [{id, file}], thumbs, version, run, weights}
//       compute these photos' features; with thumbs, reply "teachQueued"
//       with their object URLs
//   {type: "teachSet", classes, photos: [{id, label, name}], removed}
//       the page's classes and photos (kept in IndexedDB with the photos'
//       features); removed: ids whose features to forget. The page sends
//       it once it has had "teachState".
//   {type: "teach", seed, classes, photos: [{id, label}], version, run, weights}
//       fit a head on these photos (their features must be computed)
//   {type: "useHead", on}            classify with the taught head or the
//       weights' own (kept across reloads)
//   {type: "exportTaught", version, run, weights}  the taught weights file
//   {type: "forgetTeach"}            delete the head, the features and the
//       classes, here and in IndexedDB
// Worker → page:
//   {type: "teachState", classes, photos: [{id, label, name, stale}], head}
//       what IndexedDB held (after the page's hello); head: null or
//       {report, losses, active}; classes null when nothing was kept;
//       stale: why a photo's kept features were forgotten (see teachStale)
//   {type: "teachQueued", urls}             by photo id, its object URL
//   {type: "teachPhoto", id, ms} | {type: "teachPhoto", id, error}
//       a photo's features are computed (or why they cannot be)
//   {type: "teachStale", ids, message}      kept features of another width
//       than the loaded weights': forgotten
//   {type: "teachProgress", stage, done, total, iter, loss}
//   {type: "taught", report, losses, ms} | {type: "taught", error}
//       report: teach.Report as JSON; losses: the final fit's per iteration
//   {type: "teachHead", has, active, classes, report, error}  which head
//       classifies: the taught one (active) or the weights' own; error:
//       why the taught head is not used (e.g. taught on another
//       architecture)
//   {type: "teachExport", bytes, variant, ms} | {type: "teachExport", error}
//       the taught weights file (a Uint8Array, transferred); never batched
"use strict";


// IndexedDB: one record, TEACH_KEY in the store "teach" of the database
// "pawnet".
const TEACH_KEY = "current";

// The page's teaching messages, handled once IndexedDB was read.
const TEACH_MESSAGES = new Set(["features", "teachSet", "teach", "useHead", "exportTaught", "forgetTeach"]);

const teach = {
  set: null,            // {classes, photos: [{id, label, name}]}: the page's (teachSet)
  features: new Map(),  // photo id → Float32Array: its features, then its mirror's
  // The taught head: {w, b (Float32Arrays), report (JSON), losses, active,
  // dense (the features' width)}; active: classify with it.
  head: null,
  status: "",           // the last teachHead message posted, as JSON
  jobs: 0,              // fits and exports started, for their ids
  // Photos whose kept features were forgotten as another architecture's:
  // id → why, for a "teachState" the page asks for after that.
  stale: new Map(),
};

// restored resolves once what IndexedDB kept is in teach.
const restored = (async () => {
  try {
    const rec = await idb("readonly", (store) => store.get(TEACH_KEY));
    if (!rec || rec.version !== 1) return;
    teach.set = rec.set;
    for (const [id, f] of rec.features) teach.features.set(id, f);
    teach.head = rec.head || null;
  } catch (err) {
    console.warn("pawnet: the taught head could not be read: " + (err && err.message || err));
  }
})();

// teachState is the "teachState" message: what was kept.
function teachState() {
  const h = teach.head;
  const photos = [];
  for (const p of teach.set ? teach.set.photos : []) {
    if (teach.features.has(p.id)) photos.push(p);
    else if (teach.stale.has(p.id)) photos.push(Object.assign({ stale: teach.stale.get(p.id) }, p));
  }
  return {
    type: "teachState",
    classes: teach.set ? teach.set.classes : null,
    photos,
    head: h ? { report: h.report, losses: h.losses, active: h.active } : null,
  };
}

function onTeachMessage(msg) {
  switch (msg.type) {
    case "features": {
      const urls = {};
      for (const j of msg.jobs) {
        jobs.push({ kind: "features", id: j.id, file: j.file });
        if (msg.thumbs) urls[j.id] = URL.createObjectURL(j.file);
      }
      if (msg.thumbs) post({ type: "teachQueued", urls });
      withWeights(msg, dispatch);
      return;
    }
    case "teachSet":
      teach.set = { classes: msg.classes, photos: msg.photos };
      for (const id of msg.removed || []) teach.features.delete(id);
      persist();
      return;
    case "teach":
      // The fit goes to the next free pool worker, once the weights (and
      // so the features' width) are known.
      whenLoaded(msg, () => {
        const job = teachJob(msg);
        if (job.error) {
          post({ type: "taught", error: job.error });
          return;
        }
        jobs.push(job);
        dispatch();
      }, (message) => post({ type: "taught", error: message }));
      return;
    case "useHead":
      if (!teach.head) {
        postHead({ error: "nothing has been taught yet" });
        return;
      }
      teach.head.active = !!msg.on;
      persist();
      for (const p of pool) if (loaded && p.version === loaded.version) sendHead(p, true);
      if (!pool.some((p) => loaded && p.version === loaded.version)) postHead({});
      return;
    case "exportTaught": {
      const fail = (message) => self.postMessage({ type: "teachExport", error: message });
      if (!teach.head) {
        fail("nothing has been taught yet");
        return;
      }
      whenLoaded(msg, () => {
        const h = teach.head;
        if (!h) fail("nothing has been taught yet");
        else if (h.dense && h.dense !== loaded.info.dense) fail(otherArchitecture(h.dense));
        else {
          jobs.push({ kind: "export", id: ++teach.jobs });
          dispatch();
        }
      }, fail);
      return;
    }
    case "forgetTeach":
      clearTimeout(persistTimer);
      teach.set = null;
      teach.features.clear();
      teach.head = null;
      teach.stale.clear();
      for (const p of pool) if (p.version >= 0) p.worker.postMessage({ type: "useHead", on: false });
      postHead({});
      idb("readwrite", (store) => store.delete(TEACH_KEY)).catch((err) => console.warn("pawnet: " + err));
      return;
  }
}

// whenLoaded calls ok once the weights msg names are loaded (see
// withWeights), or fail with why they could not be.
function whenLoaded(msg, ok, fail) {
  preload.then(() => ensureLoaded(msg.version || 0, msg.run || "", msg.weights || "weights"))
    .then(ok, (err) => fail("weights: " + String(err && err.message || err)));
}

// otherArchitecture says why a head taught on features dense wide does
// not fit the loaded weights.
function otherArchitecture(dense) {
  return "the head was taught on another architecture: it takes " + dense + " features, and these weights (" +
    loaded.info.config + ") give " + loaded.info.dense;
}

// teachJob makes the fit's job of a "teach" message, or {error} saying
// what is missing.
function teachJob(msg) {
  const dense = loaded.info.dense;
  const rows = [];
  const labels = [];
  let missing = 0;
  for (const p of msg.photos) {
    const f = teach.features.get(p.id);
    if (!f) {
      missing++;
      continue;
    }
    if (f.length !== 2 * dense) {
      return { error: "a photo's features come from other weights (" + f.length / 2 + " values; these have " + dense + "): drop it again" };
    }
    rows.push(f);
    labels.push(p.label);
  }
  if (missing > 0) {
    return { error: missing + (missing === 1 ? " photo's features are" : " photos' features are") + " not computed: drop " + (missing === 1 ? "it" : "them") + " again" };
  }
  if (rows.length === 0) return { error: "no photos to teach with" };
  const features = new Float32Array(rows.length * 2 * dense);
  rows.forEach((f, i) => features.set(f, i * 2 * dense));
  return { kind: "teach", id: ++teach.jobs, features, n: rows.length, labels, classes: msg.classes, seed: msg.seed || 0, dense };
}

// separates reads a taught head's report (JSON): whether its features
// separate the classes.
function separates(report) {
  try {
    return JSON.parse(report).separates === true;
  } catch {
    return false;
  }
}

// sendHead tells pool worker p which head to classify with after it loaded
// weights (an active taught head; else nothing: a load drops the head) or
// after the page's useHead (explicit: switching back too).
function sendHead(p, explicit) {
  const h = teach.head;
  if (h && h.active) p.worker.postMessage({ type: "setHead", w: h.w, b: h.b, report: h.report });
  else if (explicit) p.worker.postMessage({ type: "useHead", on: false });
}

// exportOn has pool worker p write the taught weights file: with the head
// set for it, when the page has switched back to the weights' own head.
function exportOn(p, job) {
  const h = teach.head;
  if (!h.active) {
    p.quiet += 2;
    p.worker.postMessage({ type: "setHead", w: h.w, b: h.b, report: h.report });
  }
  p.worker.postMessage({ type: "exportTaught", id: job.id });
  if (!h.active) p.worker.postMessage({ type: "useHead", on: false });
}

// postHead tells the page which head classifies (when that changed).
function postHead(r) {
  const h = teach.head;
  const msg = {
    type: "teachHead", has: !!h, active: !!(h && h.active && !r.error && r.active !== false),
    classes: r.classes || (loaded ? loaded.classes : []), report: h ? h.report : "", error: r.error || "",
  };
  const json = JSON.stringify(msg);
  if (json === teach.status) return;
  teach.status = json;
  post(msg);
}

// onTeachReply handles a pool worker's teaching replies.
function onTeachReply(p, msg) {
  switch (msg.type) {
    case "features":
      p.busy = false;
      p.job = null;
      if (msg.error) {
        post({ type: "teachPhoto", id: msg.id, error: msg.error });
      } else {
        teach.features.set(msg.id, msg.features);
        persist();
        post({ type: "teachPhoto", id: msg.id, ms: msg.ms });
      }
      dispatch();
      return;
    case "teachProgress":
      post({ type: "teachProgress", stage: msg.stage, done: msg.done, total: msg.total, iter: msg.iter, loss: msg.loss });
      return;
    case "taught": {
      const job = p.job;
      p.busy = false;
      p.job = null;
      if (msg.error) {
        post({ type: "taught", error: msg.error });
      } else {
        // The head classifies by itself only when its cross-validation
        // shows it separates the classes (shared/teach.Separates); else
        // the run's own head goes on until the page switches.
        teach.head = { w: msg.w, b: msg.b, report: msg.report, losses: msg.losses, active: separates(msg.report), dense: job ? job.dense : 0 };
        persist();
        post({ type: "taught", report: msg.report, losses: msg.losses, ms: msg.ms });
        // Every pool worker classifies with it from its next photo on
        // (its messages are handled in order).
        for (const q of pool) if (loaded && q.version === loaded.version) sendHead(q);
      }
      dispatch();
      return;
    }
    case "head":
      if (p.quiet > 0) {
        p.quiet--;
        return;
      }
      postHead(msg);
      return;
    case "exported":
      p.busy = false;
      p.job = null;
      if (msg.error) self.postMessage({ type: "teachExport", error: msg.error });
      else self.postMessage({ type: "teachExport", bytes: msg.bytes, variant: msg.variant, ms: msg.ms }, [msg.bytes.buffer]);
      dispatch();
      return;
  }
}

// forgetStale forgets the kept features whose width is not the loaded
// weights' (dense per row), and tells the page which.
function forgetStale(dense) {
  const ids = [];
  let width = 0;
  for (const [id, f] of teach.features) {
    if (f.length !== 2 * dense) {
      ids.push(id);
      width = f.length / 2;
      teach.features.delete(id);
    }
  }
  if (ids.length === 0) return;
  const message = "Its features came from weights of another architecture (" + width + " values; these have " + dense + "): drop the photo again.";
  for (const id of ids) teach.stale.set(id, message);
  persist();
  post({ type: "teachStale", ids, message });
}

// persist saves teach to IndexedDB, a moment after its last change.
let persistTimer = 0;
function persist() {
  clearTimeout(persistTimer);
  persistTimer = setTimeout(() => {
    const set = teach.set || { classes: null, photos: [] };
    const photos = set.photos.filter((p) => teach.features.has(p.id));
    const rec = {
      version: 1,
      set: { classes: set.classes, photos },
      features: photos.map((p) => [p.id, teach.features.get(p.id)]),
      head: teach.head,
    };
    idb("readwrite", (store) => store.put(rec, TEACH_KEY))
      .catch((err) => console.warn("pawnet: the taught head was not kept: " + (err && err.message || err)));
  }, 100);
}

// idb runs fn(store) in a transaction of mode on the store and resolves to
// its request's result once the transaction completes.
function idb(mode, fn) {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open("pawnet", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("teach");
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const tx = db.transaction("teach", mode);
      const req = fn(tx.objectStore("teach"));
      tx.oncomplete = () => {
        db.close();
        resolve(req.result);
      };
      tx.onerror = tx.onabort = () => {
        db.close();
        reject(tx.error || new Error("IndexedDB transaction aborted"));
      };
    };
  });
}

// The dashboard's inference worker. It runs worker.wasm (wasm/worker: Go,
// shared/classify) off the page's thread, gets the exported weights once
// (the most compact variant the server has: int8, else fp16, else fp32),
// keeps them in the browser's Cache Storage keyed by run and export, so
// that a reload does not download them again, and classifies the photos
// the page posts, one at a time, in order.
//
// Page → worker:
//   {type: "classify", id, file, version, run}  file: a File or Blob;
//       version: the export the page knows of (reload the weights when
//       newer; 0 = any); run: the run's id ("" = unknown). With both known
//       the weights are cached under them.
// Worker → page:
//   {type: "ready", ms}                     worker.wasm is running
//   {type: "fatal", message}                it could not start
//   {type: "weights", state: "loading", loaded, total}
//   {type: "weights", state: "ready", info, version, downloadMs}
//       info.variant: fp32, fp16 or int8; info.cached: read from the cache
//   {type: "weights", state: "error", message}
//   {type: "start", id}
//   {type: "result", id, probs, best, label, classes, ms}  or  {type: "result", id, error}
"use strict";

importScripts("wasm_exec.js");

// The variants asked for, most wanted first (see GET /weights?variant=).
const VARIANTS = "int8,fp16,fp32";
// The Cache Storage bucket; it holds the weights of one export at a time.
const CACHE = "pawnet-weights";

const started = new Promise((resolve) => { self.pawnetReady = resolve; });
const go = new Go();
WebAssembly.instantiateStreaming(fetch("worker.wasm"), go.importObject)
  .then((r) => {
    go.run(r.instance).then(() => post({ type: "fatal", message: "the classifier stopped" }));
    return started;
  })
  .then(() => post({ type: "ready", ms: performance.now() }))
  .catch((e) => post({ type: "fatal", message: "could not start the classifier: " + e }));

function post(msg) { self.postMessage(msg); }

let loaded = null; // {version, info, classes}
let queue = Promise.resolve();

self.onmessage = (e) => {
  const msg = e.data;
  queue = queue.then(() => handle(msg)).catch((err) => {
    if (msg && msg.id !== undefined) post({ type: "result", id: msg.id, error: String(err && err.message || err) });
  });
};

async function handle(msg) {
  await started;
  if (msg.type !== "classify") return;
  if (!loaded || (msg.version > loaded.version)) {
    try {
      await load(msg.version || 0, msg.run || "");
    } catch (err) {
      const message = String(err && err.message || err);
      post({ type: "weights", state: "error", message });
      throw new Error("weights: " + message);
    }
  }
  post({ type: "start", id: msg.id });
  const bytes = new Uint8Array(await msg.file.arrayBuffer());
  const r = self.pawnet.classify(bytes);
  if (r.error) throw new Error(r.error);
  post({ type: "result", id: msg.id, probs: r.probs, best: r.best, label: r.label, classes: loaded.classes, ms: r.ms });
}

async function load(version, run) {
  const t0 = performance.now();
  post({ type: "weights", state: "loading", loaded: 0, total: 0 });
  const w = await weights(version, run);
  const downloadMs = performance.now() - t0;
  const info = self.pawnet.load(w.bytes);
  if (info.error) throw new Error(info.error);
  info.cached = w.cached;
  loaded = { version, info, classes: info.classes };
  post({ type: "weights", state: "ready", info, version, downloadMs });
}

// weights returns {bytes, cached}: the weights of export version of run
// from Cache Storage, else downloaded (and then cached, replacing any
// other export, when run and version are known and the cache is there: it
// needs a secure context, e.g. http://127.0.0.1).
async function weights(version, run) {
  const key = run && version > 0 && self.caches
    ? new URL("weights-cache/" + encodeURIComponent(run) + "/" + version + "/" + VARIANTS, self.location.href).href
    : "";
  let cache = null;
  if (key) {
    try {
      cache = await caches.open(CACHE);
      const hit = await cache.match(key);
      if (hit) {
        const bytes = new Uint8Array(await hit.arrayBuffer());
        post({ type: "weights", state: "loading", loaded: bytes.length, total: bytes.length });
        return { bytes, cached: true };
      }
    } catch (err) {
      cache = null; // storage refused (quota, private mode): download
    }
  }
  const bytes = await download();
  if (cache) {
    try {
      for (const old of await cache.keys()) await cache.delete(old);
      await cache.put(key, new Response(bytes, { headers: { "Content-Type": "application/octet-stream" } }));
    } catch (err) {
      // Not cached: the next load downloads again.
    }
  }
  return { bytes, cached: false };
}

// download streams GET weights?variant=… (relative to this script, i.e.
// /weights), reporting progress against Content-Length at most every
// 100 ms.
async function download() {
  const resp = await fetch("weights?variant=" + VARIANTS, { cache: "no-store" });
  if (resp.status === 404) {
    throw new Error("no exported weights yet; the trainer exports them after its first epoch");
  }
  if (!resp.ok) throw new Error("GET /weights: HTTP " + resp.status);
  const total = Number(resp.headers.get("Content-Length")) || 0;
  let buf = new Uint8Array(total || (1 << 20));
  let n = 0;
  let last = 0;
  const reader = resp.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (n + value.length > buf.length) {
      const bigger = new Uint8Array(Math.max(buf.length * 2, n + value.length));
      bigger.set(buf.subarray(0, n));
      buf = bigger;
    }
    buf.set(value, n);
    n += value.length;
    const now = performance.now();
    if (now - last > 100) {
      last = now;
      post({ type: "weights", state: "loading", loaded: n, total });
    }
  }
  if (total && n !== total) throw new Error("download cut short: " + n + " of " + total + " bytes");
  post({ type: "weights", state: "loading", loaded: n, total: total || n });
  return buf.subarray(0, n);
}

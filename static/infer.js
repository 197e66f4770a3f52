// One classifier of the pool that static/worker.js runs: a Web Worker
// with its own worker.wasm instance (Go, shared/classify) and its own copy
// of the weights. worker.js owns the download, the cache and the order of
// the work; this file only runs what it is told.
//
// worker.js → here:
//   {type: "init", module}           a compiled worker.wasm to instantiate
//   {type: "load", bytes}            weights (a Uint8Array, transferred) to
//                                    load; they are transferred back
//   {type: "loadFile", name}         load the weights in the OPFS file name,
//                                    read straight into Go's memory
//   {type: "classify", id, file}     a photo (File or Blob)
//   {type: "bench", id, n}           time n forward passes and n Grad-CAMs
//                                    of the last photo (BenchmarkBrowserGradCAM)
//   {type: "warmup"}                 run a photo's code once, so that the
//                                    browser optimizes it (pawnet.warmUp)
//   {type: "prepare"}                build the conv transforms the load
//                                    deferred (pawnet.prepare)
// Teaching a new last layer (shared/teach; wasm/worker/teach_wasm.go):
//   {type: "features", id, file}     a photo's features and its mirror's
//                                    (pawnet.features)
//   {type: "teach", id, features, n, labels, classes, seed}
//                                    fit a head (pawnet.teach) on n photos'
//                                    features (one Float32Array, the rows
//                                    one after another) with their labels
//   {type: "setHead", w, b, report}  classify with this head from now on
//   {type: "useHead", on}            classify with the taught head or the
//                                    weights' own
//   {type: "exportTaught", id}       the weights file with the taught head
// here → worker.js:
//   {type: "ready"} | {type: "fatal", message}
//   {type: "loaded", info, bytes} | {type: "loaded", error}
//       info.readMs: the file's read (loadFile)
//   {type: "result", id, probs, best, label, ms, heat, heatW, heatH, camSide}
//       heat: one Uint8Array (a PNG, heatW×heatH; transferred) per class,
//       its Grad-CAM heatmap; or heatError instead of heat
//   {type: "result", id, error}
//   {type: "bench", id, forwardMs, camMs} | {type: "bench", id, error}
//   {type: "warm", ms, prepared} | {type: "warm", error}  prepared: the
//       loaded weights' transforms are built (the warm-up does it)
//   {type: "prepared", ms} | {type: "prepared", error}
//   result also carries classes (the head's) and taught (the taught head
//       answered)
//   {type: "features", id, features, dense, ms} | {type: "features", id, error}
//       features: a Float32Array of 2 × dense values (transferred)
//   {type: "teachProgress", id, stage, done, total, iter, loss}  as the fit
//       advances: done of total fits (cross-validation, then the final
//       one), and the final fit's loss at each iteration
//   {type: "taught", id, report, losses, w, b, ms} | {type: "taught", id, error}
//       report: teach.Report as JSON; w, b: Float32Arrays (transferred)
//   {type: "head", classes, temperature} | {type: "head", active, classes}
//       | {type: "head", error}  after setHead or useHead
//   {type: "exported", id, bytes, variant, ms} | {type: "exported", id, error}
"use strict";

// wasm_exec.js under the versioned URL the pool passes on (?exec=).
importScripts(new URL(self.location.href).searchParams.get("exec") || "wasm_exec.js");

let started = null;
let memory = null; // the Go instance's linear memory

self.onmessage = async (e) => {
  const msg = e.data;
  try {
    switch (msg.type) {
      case "init":
        started = new Promise((resolve) => { self.pawnetReady = resolve; });
        const go = new Go();
        const instance = await WebAssembly.instantiate(msg.module, go.importObject);
        memory = instance.exports.mem;
        go.run(instance).then(() => self.postMessage({ type: "fatal", message: "the classifier stopped" }));
        await started;
        self.postMessage({ type: "ready" });
        return;
      case "load": {
        const info = self.pawnet.load(msg.bytes);
        if (info.error) self.postMessage({ type: "loaded", error: info.error });
        else self.postMessage({ type: "loaded", info, bytes: msg.bytes }, [msg.bytes.buffer]);
        return;
      }
      case "loadFile": {
        const t0 = performance.now();
        const root = await navigator.storage.getDirectory();
        const fh = await root.getFileHandle(msg.name);
        // Go allocates the buffer; its view is made after, as the
        // allocation may grow (and so replace) the memory's buffer.
        const view = (n) => {
          const ptr = self.pawnet.alloc(n);
          return new Uint8Array(memory.buffer, ptr, n);
        };
        let h = null;
        try {
          h = await fh.createSyncAccessHandle();
        } catch (err) {
          // Another tab holds the file's lock: read a copy instead.
        }
        if (h) {
          try {
            const n = h.getSize();
            const got = h.read(view(n), { at: 0 });
            if (got !== n) throw new Error("read " + got + " of " + n + " bytes of " + msg.name);
          } finally {
            h.close();
          }
        } else {
          const bytes = new Uint8Array(await (await fh.getFile()).arrayBuffer());
          view(bytes.length).set(bytes);
        }
        const readMs = performance.now() - t0;
        const info = self.pawnet.loadAllocated();
        if (info.error) self.postMessage({ type: "loaded", error: info.error });
        else self.postMessage({ type: "loaded", info: Object.assign(info, { readMs }) });
        return;
      }
      case "classify": {
        const bytes = new Uint8Array(await msg.file.arrayBuffer());
        const r = self.pawnet.classify(bytes, !!msg.tta);
        if (r.error) {
          self.postMessage({ type: "result", id: msg.id, error: r.error });
          return;
        }
        // The heatmaps' bytes are transferred, not copied; the page makes
        // a Blob of one only when it shows it (a Blob here would cost
        // this worker ~5 ms each).
        const heat = r.heat;
        // r is a wasm/protocol Result (with heat): passed on whole.
        self.postMessage({ ...r, type: "result", id: msg.id }, heat ? heat.map((png) => png.buffer) : []);
        return;
      }
      case "features": {
        const bytes = new Uint8Array(await msg.file.arrayBuffer());
        const r = self.pawnet.features(bytes);
        if (r.error) self.postMessage({ type: "features", id: msg.id, error: r.error });
        else self.postMessage({ type: "features", id: msg.id, features: r.features, dense: r.dense, ms: r.ms }, [r.features.buffer]);
        return;
      }
      case "teach": {
        const bytes = new Uint8Array(msg.features.buffer, msg.features.byteOffset, msg.features.byteLength);
        const progress = (p) => self.postMessage(Object.assign({ type: "teachProgress", id: msg.id }, p));
        const r = self.pawnet.teach(bytes, msg.n, msg.labels, msg.classes, msg.seed, progress);
        if (r.error) self.postMessage({ type: "taught", id: msg.id, error: r.error });
        else self.postMessage({ type: "taught", id: msg.id, report: r.report, losses: r.losses, w: r.w, b: r.b, ms: r.ms }, [r.w.buffer, r.b.buffer]);
        return;
      }
      case "setHead": {
        const r = self.pawnet.setHead(msg.w, msg.b, msg.report);
        self.postMessage({ type: "head", classes: r.classes, temperature: r.temperature, active: !r.error, error: r.error });
        return;
      }
      case "useHead": {
        const r = self.pawnet.useHead(!!msg.on);
        self.postMessage({ type: "head", active: r.active, classes: r.classes, error: r.error });
        return;
      }
      case "exportTaught": {
        const r = self.pawnet.exportTaught();
        if (r.error) self.postMessage({ type: "exported", id: msg.id, error: r.error });
        else self.postMessage({ type: "exported", id: msg.id, bytes: r.bytes, variant: r.variant, ms: r.ms }, [r.bytes.buffer]);
        return;
      }
      case "warmup": {
        const r = self.pawnet.warmUp();
        self.postMessage({ type: "warm", ms: r.ms, prepared: r.prepared, error: r.error });
        return;
      }
      case "prepare": {
        const r = self.pawnet.prepare();
        self.postMessage({ type: "prepared", ms: r.ms, error: r.error });
        return;
      }
      case "bench": {
        const r = self.pawnet.camBench(msg.n);
        self.postMessage(Object.assign({ type: "bench", id: msg.id }, r));
        return;
      }
    }
  } catch (err) {
    const message = String(err && err.message || err);
    if (msg.type === "init") self.postMessage({ type: "fatal", message: "could not start the classifier: " + message });
    else if (msg.type === "load" || msg.type === "loadFile") self.postMessage({ type: "loaded", error: message });
    else if (msg.type === "warmup") self.postMessage({ type: "warm", error: message });
    else if (msg.type === "prepare") self.postMessage({ type: "prepared", error: message });
    else if (msg.type === "features") self.postMessage({ type: "features", id: msg.id, error: message });
    else if (msg.type === "teach") self.postMessage({ type: "taught", id: msg.id, error: message });
    else if (msg.type === "setHead" || msg.type === "useHead") self.postMessage({ type: "head", error: message });
    else if (msg.type === "exportTaught") self.postMessage({ type: "exported", id: msg.id, error: message });
    else self.postMessage({ type: "result", id: msg.id, error: message });
  }
};

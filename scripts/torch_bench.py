#!/usr/bin/env python3
"""PyTorch side of pawnet's GPU benchmark: the seed's AlexNet (96-256-384-384-256,
227x227x3 in, fc 4096-4096-2, dropout 0.2), trained with Adam lr 1e-4 and
cross-entropy, eager mode, channels_last, optional bf16 autocast.

  torch_bench.py throughput --batch 128 --dtype bf16 [--steps 30 --warmup 5]
      img/s on synthetic tensors copied from pinned host memory every step
      (as a loader would), synchronised every step like pawnet's loss fetch.
  torch_bench.py epoch --data DIR --workers 16 --batch 256 --dtype bf16
      one training epoch over DIR/<class>/*.jpg with a DataLoader that
      decodes every JPEG with PIL each epoch and applies the seed's
      augmentation (flip, rotation 10, RandomResizedCrop 227 0.8-1.0,
      ColorJitter 0.2, normalize).

  torch_bench.py infer --weights model.safetensors --device cpu --threads 2 --batch 1 8
      eval-mode inference with pawnet's exported weights (read with the
      safetensors layout, no safetensors module needed): ms/photo per batch
      size, the mean (and best) of --reps timed passes after --warmup. With --inputs X.f32
      (n NHWC images, float32) it also writes their logits to --logits.

  torch_bench.py throughput --device cpu --threads 2 --config '{"channels": [...], ...}' --batch 32
      the same train step for any pawnet config (alexnet.Config's JSON:
      channels, kernels, strides, pads, dense, dropout, classes, input_size),
      e.g. the small model that `go tool mage demo` trains on the CPU.

  torch_bench.py submit --weights model.safetensors --zip test.zip --csv out.csv --batch 32 --workers 2 --threads 2
      a Kaggle submission, end to end: every N.jpg of the zip (read in place)
      decoded with PIL and resized to the model's input (squashed, as pawnet
      does), normalized with the weights' stats, classified under
      torch.no_grad() with a DataLoader of --workers processes, and
      id,label rows (P(dog)) written in id order; prints the photos, the
      seconds and the peak RSS of this process and of its workers.

--device cpu and --size 64 make a tiny dry run for CI.
"""
import argparse
import json
import os
import struct
import sys
import time

try:
    import torch
    import torch.nn as nn
except ImportError:
    print("torch: not installed, skipped")
    sys.exit(0)


def alexnet(size, classes=2, dropout=0.2):
    widths = [96, 256, 384, 384, 256]
    feats = nn.Sequential(
        nn.Conv2d(3, widths[0], 11, stride=4, padding=0 if size == 227 else 2), nn.ReLU(inplace=True),
        nn.MaxPool2d(3, 2),
        nn.Conv2d(widths[0], widths[1], 5, padding=2), nn.ReLU(inplace=True),
        nn.MaxPool2d(3, 2),
        nn.Conv2d(widths[1], widths[2], 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(widths[2], widths[3], 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(widths[3], widths[4], 3, padding=1), nn.ReLU(inplace=True),
        nn.MaxPool2d(3, 2),
    )
    with torch.no_grad():
        flat = feats(torch.zeros(1, 3, size, size)).numel()
    return nn.Sequential(
        feats, nn.Flatten(),
        nn.Dropout(dropout), nn.Linear(flat, 4096), nn.ReLU(inplace=True),
        nn.Dropout(dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
        nn.Linear(4096, classes),
    )


def alexnet_config(cfg):
    """The AlexNet of a pawnet config (alexnet.Config as JSON)."""
    layers, c_in = [], 3
    for i in range(5):
        layers += [nn.Conv2d(c_in, cfg["channels"][i], cfg["kernels"][i], stride=cfg["strides"][i], padding=cfg["pads"][i]),
                   nn.ReLU(inplace=True)]
        if i in (0, 1, 4):
            layers.append(nn.MaxPool2d(3, 2))
        c_in = cfg["channels"][i]
    feats = nn.Sequential(*layers)
    size, dense, drop = cfg["input_size"], cfg["dense"], cfg["dropout"]
    with torch.no_grad():
        flat = feats(torch.zeros(1, 3, size, size)).numel()
    return nn.Sequential(
        feats, nn.Flatten(),
        nn.Dropout(drop), nn.Linear(flat, dense), nn.ReLU(inplace=True),
        nn.Dropout(drop), nn.Linear(dense, dense), nn.ReLU(inplace=True),
        nn.Linear(dense, cfg["classes"]),
    )


def setup(args):
    dev = torch.device(args.device)
    if dev.type == "cpu":
        torch.set_num_threads(args.threads)
    if args.config:
        cfg = json.loads(args.config)
        args.size = cfg["input_size"]
        model = alexnet_config(cfg)
    else:
        model = alexnet(args.size)
    model = model.to(dev).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    loss_fn = nn.CrossEntropyLoss()
    use_bf16 = args.dtype == "bf16"

    def step(x, y):
        x = x.to(dev, non_blocking=True).to(memory_format=torch.channels_last)
        y = y.to(dev, non_blocking=True)
        with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=use_bf16):
            loss = loss_fn(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    return dev, step


def throughput(args):
    dev, step = setup(args)
    x = torch.randn(args.batch, 3, args.size, args.size)
    y = torch.arange(args.batch) % 2
    if dev.type == "cuda":
        x, y = x.pin_memory(), y.pin_memory()
    for _ in range(args.warmup):
        step(x, y)
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step(x, y)
    el = time.perf_counter() - t0
    print(f"torch throughput device={dev.type} batch={args.batch} dtype={args.dtype} steps={args.steps} "
          f"ms/step={1000 * el / args.steps:.2f} img/s={args.steps * args.batch / el:.1f}")


def epoch(args):
    from PIL import Image
    try:
        from torchvision import datasets, transforms
    except ImportError:
        print("torchvision: not installed, skipped the epoch benchmark")
        return
    tf = transforms.Compose([
        transforms.RandomHorizontalFlip(0.5),
        transforms.RandomRotation(10),
        transforms.RandomResizedCrop(args.size, scale=(0.8, 1.0)),
        transforms.ColorJitter(0.2, 0.2, 0.2),
        transforms.ToTensor(),
        transforms.Normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25]),
    ])
    ds = datasets.ImageFolder(args.data, transform=tf, loader=lambda p: Image.open(p).convert("RGB"))
    dl = torch.utils.data.DataLoader(ds, batch_size=args.batch, shuffle=True, num_workers=args.workers,
                                     pin_memory=args.device == "cuda", drop_last=False, persistent_workers=False)
    dev, step = setup(args)
    t0 = time.perf_counter()
    n = 0
    for x, y in dl:
        step(x, y)
        n += len(y)
    el = time.perf_counter() - t0
    print(f"torch epoch device={dev.type} images={n} workers={args.workers} batch={args.batch} dtype={args.dtype} "
          f"seconds={el:.1f} img/s={n / el:.1f}")


def load_safetensors(path):
    """Tensors of a safetensors file as torch tensors, by name, and its metadata."""
    import numpy as np
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    body = memoryview(data)[8 + n:]
    dtypes = {"F32": np.float32, "F16": np.float16}
    out = {}
    for name, info in header.items():
        a, b = info["data_offsets"]
        arr = np.frombuffer(body[a:b], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.astype(np.float32))
    return out, meta


def sequential_state(tensors):
    """pawnet's tensor names (torchvision's) as the state dict of alexnet() and
    alexnet_config(): Sequential(features, Flatten, then torchvision's
    classifier entries shifted by 2), so features.i -> 0.i, classifier.i -> (i+2)."""
    state = {}
    for k, v in tensors.items():
        part, i, leaf = k.split(".")
        state["0.%s.%s" % (i, leaf) if part == "features" else "%d.%s" % (int(i) + 2, leaf)] = v
    return state


def infer(args):
    tensors, meta = load_safetensors(args.weights)
    cfg = json.loads(meta["pawnet.config"])
    if cfg["name"] != "full":
        sys.exit("infer: only the full config is built here")
    torch.set_num_threads(args.threads)
    model = alexnet(cfg["input_size"], cfg["classes"])
    model.load_state_dict(sequential_state(tensors))
    model.eval()
    size = cfg["input_size"]
    with torch.no_grad():
        if args.inputs:
            import numpy as np
            x = np.fromfile(args.inputs, dtype=np.float32).reshape(-1, size, size, 3)
            logits = model(torch.from_numpy(x).permute(0, 3, 1, 2).contiguous())
            logits.numpy().astype(np.float32).tofile(args.logits)
        for batch in args.batch_sizes:
            x = torch.randn(batch, 3, size, size)
            for _ in range(args.warmup):
                model(x)
            times = []
            for _ in range(args.reps):
                t0 = time.perf_counter()
                model(x)
                times.append(time.perf_counter() - t0)
            mean = sum(times) / len(times)
            print(f"torch infer device=cpu threads={args.threads} batch={batch} ms/photo={1000 * mean / batch:.2f} "
                  f"best={1000 * min(times) / batch:.2f}", flush=True)


def pawnet_model(path):
    """The eval-mode model of a pawnet weights file, its config and stats."""
    tensors, meta = load_safetensors(path)
    cfg = json.loads(meta["pawnet.config"])
    model = alexnet_config(cfg)
    model.load_state_dict(sequential_state(tensors))
    model.eval()
    stats = json.loads(meta["pawnet.stats"])
    classes = json.loads(meta.get("pawnet.classes", '["cat", "dog"]'))
    return model, cfg, stats, classes


class ZipPhotos(torch.utils.data.Dataset):
    """The N.jpg photos of a zip, read in place; each worker opens its own handle."""

    def __init__(self, path, size, mean, std):
        import zipfile
        with zipfile.ZipFile(path) as z:
            names = [n for n in z.namelist() if n.lower().endswith(".jpg") and os.path.basename(n)[:-4].isdigit()]
        self.names = sorted(names, key=lambda n: int(os.path.basename(n)[:-4]))
        self.path, self.size = path, size
        self.mean = torch.tensor(mean).view(3, 1, 1)
        self.std = torch.tensor(std).view(3, 1, 1)
        self.zip = None

    def __len__(self):
        return len(self.names)

    def __getitem__(self, i):
        import io
        import zipfile
        import numpy as np
        from PIL import Image
        if self.zip is None:
            self.zip = zipfile.ZipFile(self.path)
        img = Image.open(io.BytesIO(self.zip.read(self.names[i]))).convert("RGB")
        img = img.resize((self.size, self.size), Image.BILINEAR)
        x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1)
        return (x - self.mean) / self.std, int(os.path.basename(self.names[i])[:-4])


def submit(args):
    import resource
    t0 = time.perf_counter()
    torch.set_num_threads(args.threads)
    model, cfg, stats, classes = pawnet_model(args.weights)
    dog = classes.index("dog") if "dog" in classes else len(classes) - 1
    data = ZipPhotos(args.zip, cfg["input_size"], stats["mean"], stats["std"])
    loader = torch.utils.data.DataLoader(data, batch_size=args.batch, num_workers=args.workers)
    rows = []
    with torch.no_grad():
        for x, ids in loader:
            p = torch.softmax(model(x), dim=1)[:, dog]
            rows += zip(ids.tolist(), p.tolist())
    rows.sort()
    with open(args.csv, "w") as f:
        f.write("id,label\n")
        for i, p in rows:
            f.write("%d,%.6f\n" % (i, min(max(p, 0.005), 0.995)))
    el = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"torch submit model={cfg['name']} photos={len(rows)} batch={args.batch} workers={args.workers} threads={args.threads} "
          f"seconds={el:.2f} photos/s={len(rows) / el:.1f} peak-rss-MB={rss:.0f} worker-peak-rss-MB={kids:.0f}", flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["throughput", "epoch", "infer", "submit"])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--device", default="cuda")
    p.add_argument("--size", type=int, default=227)
    p.add_argument("--data")
    p.add_argument("--workers", type=int, default=16)
    p.add_argument("--weights")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--inputs")
    p.add_argument("--logits")
    p.add_argument("--zip", help="submit: the test.zip")
    p.add_argument("--csv", help="submit: where to write the submission")
    p.add_argument("--config", help="a pawnet alexnet.Config as JSON (throughput); default: the seed's full AlexNet")
    args = p.parse_args()
    if args.mode == "infer":
        infer(args)
        return
    if args.mode == "submit":
        submit(args)
        return
    if args.device == "cuda":
        torch.backends.cudnn.benchmark = True
    throughput(args) if args.mode == "throughput" else epoch(args)


if __name__ == "__main__":
    main()

package benchdoc

// Rows are the figures docs/benchmarks.md leads with, in the order a user
// meets them: training, native inference, the browser, the dashboard.
// README.md's headline figures are taken from these rows (mage lint checks
// that each one is in docs/benchmarks.md).
var Rows = []Row{
	{
		ID: "train-step-small", What: "training step on the CPU, small model (the demo's), batch 32, GoMLX pure-Go backend",
		Ours:     Metric{"BenchmarkTrainStepVsTorch/small/batch=32", "ms/step"},
		Peer:     Metric{"BenchmarkTrainStepVsTorch/small/batch=32", "torch-ms/step"},
		PeerName: "PyTorch on the CPU",
		Ratio:    Metric{"BenchmarkTrainStepVsTorch/small/batch=32", "torch/pawnet"}, LowerBetter: true,
		Cmd: "go test -run '^$' -bench TrainStepVsTorch -benchtime 10x -count 3 ./trainer/model/",
	},
	{
		ID: "train-step-full", What: "training step on the CPU, full AlexNet, batch 8",
		Ours:     Metric{"BenchmarkTrainStepVsTorch/full/batch=8", "ms/step"},
		Peer:     Metric{"BenchmarkTrainStepVsTorch/full/batch=8", "torch-ms/step"},
		PeerName: "PyTorch on the CPU",
		Ratio:    Metric{"BenchmarkTrainStepVsTorch/full/batch=8", "torch/pawnet"}, LowerBetter: true,
		Cmd: "go test -run '^$' -bench TrainStepVsTorch -benchtime 10x -count 3 ./trainer/model/",
	},
	{
		ID: "train-step-ops", What: "the small model's step, NHWC im2col gather (the default) against channels-first slices, CPU time",
		Ours:        Metric{"BenchmarkTrainStepOps/im2col", "cpu-ms/step"},
		Peer:        Metric{"BenchmarkTrainStepOps/cnhw", "cpu-ms/step"},
		PeerName:    "channels-first slices",
		LowerBetter: true,
		Cmd:         "go test -run '^$' -bench TrainStepOps -benchtime 5x ./trainer/model/",
	},
	{
		ID: "submission-small", What: "a Kaggle submission end to end: 12,500 Kaggle-sized JPEGs from test.zip to the CSV, small model (PyTorch: PIL and a DataLoader of 2 workers, no_grad, the faster of batch 32 and 128)",
		Ours:     Metric{"BenchmarkSubmission/small", "s"},
		Peer:     Metric{"BenchmarkSubmission/small", "torch-s"},
		PeerName: "PyTorch on the CPU", LowerBetter: true,
		Cmd: "go tool mage submitBench",
	},
	{
		ID: "submission-full", What: "the same, full AlexNet",
		Ours:     Metric{"BenchmarkSubmission/full", "s"},
		Peer:     Metric{"BenchmarkSubmission/full", "torch-s"},
		PeerName: "PyTorch on the CPU", LowerBetter: true,
		Cmd: "go tool mage submitBench",
	},
	{
		ID: "native-inference-batch8", What: "full AlexNet inference, native pure Go (AVX2+FMA), batch 8",
		Ours:     Metric{"BenchmarkForwardVsTorch/batch8", "ms/photo"},
		Peer:     Metric{"BenchmarkForwardVsTorch/batch8", "torch-ms/photo"},
		PeerName: "PyTorch on the CPU",
		Ratio:    Metric{"BenchmarkForwardVsTorch/batch8", "torch/pawnet"}, LowerBetter: true,
		Cmd: "go test -run '^$' -bench ForwardVsTorch -benchtime 10x -count 3 ./trainer/predict/",
	},
	{
		ID: "native-inference-batch1", What: "the same, batch 1",
		Ours:     Metric{"BenchmarkForwardVsTorch/batch1", "ms/photo"},
		Peer:     Metric{"BenchmarkForwardVsTorch/batch1", "torch-ms/photo"},
		PeerName: "PyTorch on the CPU",
		Ratio:    Metric{"BenchmarkForwardVsTorch/batch1", "torch/pawnet"}, LowerBetter: true,
		Cmd: "go test -run '^$' -bench ForwardVsTorch -benchtime 10x -count 3 ./trainer/predict/",
	},
	{
		ID: "gemm-simd", What: "GEMM on conv1's im2col shape, one thread: this build's kernels (AVX2+FMA) against pawnet's scalar kernels",
		Ours:     Metric{"BenchmarkGemm/conv1/build", "GMAC/s"},
		Peer:     Metric{"BenchmarkGemm/conv1/scalar", "GMAC/s"},
		PeerName: "scalar kernels",
		Cmd:      "go test -run '^$' -bench Gemm ./shared/alexnet/",
	},
	{
		ID: "browser-forward-vs-ort", What: "full AlexNet forward pass in the browser's worker, one thread (wasm SIMD, int8 weights)",
		Ours:     Metric{"BenchmarkBrowserGradCAM/full", "ms-forward"},
		Peer:     Metric{"BenchmarkBrowserORT/1thread", "ort-ms/img"},
		PeerName: "ONNX Runtime Web, 1 thread",
		Ratio:    Metric{"BenchmarkBrowserORT/1thread", "ort/pawnet-forward"}, LowerBetter: true,
		Cmd: "go test -run '^$' -bench 'BrowserGradCAM/full|BrowserORT' ./internal/browsertest/",
	},
	{
		ID: "browser-page-vs-ort", What: "a dropped photo in the page, one worker: decode, resize, forward pass and both classes' Grad-CAM",
		Ours:     Metric{"BenchmarkBrowserInference/full", "ms/img"},
		Peer:     Metric{"BenchmarkBrowserORT/1thread", "ort-ms/img"},
		PeerName: "ONNX Runtime Web, 1 thread, forward pass only",
		Ratio:    Metric{"BenchmarkBrowserORT/1thread", "ort/pawnet"}, LowerBetter: true,
		Cmd: "go test -run '^$' -bench 'BrowserInference/full$|BrowserORT' ./internal/browsertest/",
	},
	{
		ID: "browser-pool2", What: "eight photos at once on static/worker.js, pool of two workers, wall ms per photo",
		Ours:     Metric{"BenchmarkBrowserWorkerPool/2worker", "ms/img"},
		Peer:     Metric{"BenchmarkBrowserWorkerPool/1worker", "ms/img"},
		PeerName: "one worker",
		Ratio:    Metric{"BenchmarkBrowserWorkerPool/2worker", "x-one-worker"}, LowerBetter: true,
		Cmd: "go test -run '^$' -bench BrowserWorkerPool -benchtime 3x ./internal/browsertest/",
	},
	{
		ID: "browser-reload", What: "reload to the first classified photo, full model, int8 weights cached in the browser",
		Ours: Metric{"BenchmarkBrowserReload", "ms-reload-to-result"}, LowerBetter: true,
		Cmd: "go test -run '^$' -bench BrowserReload -benchtime 5x ./internal/browsertest/",
	},
	{
		ID: "browser-teach", What: "the page teaches a new last layer on 20 photos per class, one worker, once their features are computed (full model; goal 2 s)",
		Ours: Metric{"BenchmarkBrowserTeach/full", "ms-teach"}, LowerBetter: true,
		Cmd: "go test -run '^$' -bench BrowserTeach -benchtime 5x ./internal/browsertest/",
	},
	{
		ID: "history-30k", What: "dashboard: page ready to a finished 30,000-message run shown complete",
		Ours: Metric{"BenchmarkBrowserHistory/msgs=30000", "ms-to-complete"}, LowerBetter: true,
		Cmd: "go test -run '^$' -bench BrowserHistory -benchtime 5x ./internal/browsertest/",
	},
	{
		ID: "live-stall", What: "dashboard: longest main-thread stall while a 30,000-message run streams live",
		Ours: Metric{"BenchmarkBrowserLiveStall", "ms-max-stall"}, LowerBetter: true,
		Cmd: "go test -run '^$' -bench BrowserLiveStall -benchtime 5x ./internal/browsertest/",
	},
	{
		ID: "net-ready-20mbit", What: "dashboard over an emulated 20 Mbit/s, 40 ms link, empty cache: navigation to the finished run shown and the classifier ready (goal 2.5 s)",
		Ours:     Metric{"BenchmarkNetworkDashboard/20mbit-40ms", "ms-ready"},
		Peer:     Metric{"BenchmarkNetworkDashboard/20mbit-40ms", "before-ms-ready"},
		PeerName: "the server and page before issue 35", LowerBetter: true,
		Cmd: "go test -run '^$' -bench NetworkDashboard -benchtime 3x -timeout 30m ./internal/browsertest/",
	},
	{
		ID: "net-photo-20mbit", What: "the same link, empty cache: a photo dropped at the dashboard's first render, from the drop to its result (goal 2.5 s)",
		Ours:     Metric{"BenchmarkNetworkDashboard/20mbit-40ms", "ms-first-photo"},
		Peer:     Metric{"BenchmarkNetworkDashboard/20mbit-40ms", "before-ms-first-photo"},
		PeerName: "the server and page before issue 35", LowerBetter: true,
		Cmd: "go test -run '^$' -bench NetworkDashboard -benchtime 3x -timeout 30m ./internal/browsertest/",
	},
	{
		ID: "net-warm-20mbit", What: "the same link, a reload with the browser's cache: to the run shown and the classifier ready (goal 1.5 s)",
		Ours:     Metric{"BenchmarkNetworkDashboard/20mbit-40ms", "ms-warm-ready"},
		Peer:     Metric{"BenchmarkNetworkDashboard/20mbit-40ms", "before-ms-warm-ready"},
		PeerName: "the server and page before issue 35", LowerBetter: true,
		Cmd: "go test -run '^$' -bench NetworkDashboard -benchtime 3x -timeout 30m ./internal/browsertest/",
	},
	{
		ID: "net-ready-100mbit", What: "dashboard over an emulated 100 Mbit/s, 20 ms link, empty cache: to the run shown and the classifier ready",
		Ours:     Metric{"BenchmarkNetworkDashboard/100mbit-20ms", "ms-ready"},
		Peer:     Metric{"BenchmarkNetworkDashboard/100mbit-20ms", "before-ms-ready"},
		PeerName: "the server and page before issue 35", LowerBetter: true,
		Cmd: "go test -run '^$' -bench NetworkDashboard -benchtime 3x -timeout 30m ./internal/browsertest/",
	},
	{
		ID: "net-ready-loopback", What: "dashboard on loopback, empty cache: to the run shown and the classifier ready",
		Ours:     Metric{"BenchmarkNetworkDashboard/loopback", "ms-ready"},
		Peer:     Metric{"BenchmarkNetworkDashboard/loopback", "before-ms-ready"},
		PeerName: "the server and page before issue 35", LowerBetter: true,
		Cmd: "go test -run '^$' -bench NetworkDashboard -benchtime 3x -timeout 30m ./internal/browsertest/",
	},
	{
		ID: "server-memory", What: "server memory per connected page of a 30,000-message run, once caught up",
		Ours: Metric{"BenchmarkServerMemoryPerClient", "B/client-held"}, LowerBetter: true,
		Cmd: "go test -run '^$' -bench ServerMemoryPerClient ./trainer/server/",
	},
	{
		ID: "soak", What: "soak: an hour-long run (14,400 messages) to 20 pages reconnecting with ?since= at random, every message exactly once; the server's peak heap",
		Ours: Metric{"BenchmarkSoak", "peak-heap-MiB"}, LowerBetter: true,
		Cmd: "go test -run '^$' -bench '^BenchmarkSoak$' -benchtime 1x ./trainer/server/",
	},
	{
		ID: "int8-agreement", What: "int8 export of the newest trained weights: top-1 agreement with fp32 on the sample's 200 test photos",
		Ours: Metric{"BenchmarkCompactWeights/trained/int8", "top1-agree-%"},
		Cmd:  "go test -run '^$' -bench CompactWeights -benchtime 1x ./trainer/predict/",
	},
}

// Commands are the go commands `go tool mage bench` runs, in order; their
// output holds every metric of Rows (TestCommandsCoverRows). The
// pawnet/peer pairs that share a benchmark (each iteration times pawnet,
// then its peer) run three times (-count 3) and keep the best of each.
var Commands = [][]string{
	{"test", "-run", "^$", "-bench", ".", "-cpu", "1", "./trainer/dataset"},
	{"test", "-run", "^$", "-bench", "ForwardFull$|ForwardSmall|Gemm|GradCAM|DenseFull|WinogradFilters", "./shared/alexnet"},
	{"test", "-run", "^$", "-bench", "LoadFullInt8", "-benchtime", "1x", "./shared/alexnet"}, // a first load, as in a new worker
	{"test", "-run", "^$", "-bench", "LoadDeferredFullInt8", "-benchtime", "1x", "./shared/alexnet"},
	{"test", "-run", "^$", "-bench", "ForwardVsTorch", "-benchtime", "10x", "-count", "3", "./trainer/predict"},
	{"test", "-run", "^$", "-bench", "CompactWeights", "-benchtime", "1x", "./trainer/predict"},
	{"test", "-run", "^$", "-bench", "TrainStepVsTorch", "-benchtime", "10x", "-count", "3", "./trainer/model"},
	{"test", "-run", "^$", "-bench", "TrainStepOps|TrainStepSmall|TrainStepFrozen", "-benchtime", "5x", "./trainer/model"},
	{"test", "-run", "^$", "-bench", ".", "./trainer/server"},
	{"test", "-run", "^$", "-bench", "Browser", "-benchtime", "5x", "-timeout", "20m", "./internal/browsertest"},
	{"test", "-run", "^$", "-bench", "NetworkDashboard", "-benchtime", "3x", "-timeout", "30m", "./internal/browsertest"}, // before/new over emulated links
	{"tool", "mage", "submitBench"}, // prints BenchmarkSubmission lines
}

// MageBenchmarks names the benchmark lines each mage target of Commands
// prints (the go test commands select theirs with -bench).
var MageBenchmarks = map[string]string{"submitBench": "BenchmarkSubmission"}

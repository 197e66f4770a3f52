package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/pawnet/pawnet/shared/alexnet"
	"github.com/pawnet/pawnet/trainer/pretrained"
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

// loadFeatureWeights loads the model whose features `pawnet teach` learns
// from: a pawnet export (any variant) as it is, or a PyTorch state dict
// (a .pth/.pt path, or a name such as torchvision:alexnet) with its own
// head and ImageNet's normalization (pretrained.File.Model).
func loadFeatureWeights(spec string) (*alexnet.Model, error) {
	path, err := resolveWeights("weights", spec)
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".pth", ".pt":
	default:
		return alexnet.LoadFile(path)
	}
	f, err := pretrained.Read(path)
	if err != nil {
		return nil, err
	}
	return f.Model()
}

// refuseImageNetHead explains why a command that reports the weights' own
// classes (cat and dog) cannot use a name's 1000-class ImageNet head.
func refuseImageNetHead(flagName, spec string) error {
	if !hub.IsName(spec) {
		return nil
	}
	return fmt.Errorf("-%s %s: these are ImageNet's weights with its 1000 unnamed classes, not a cat/dog model; "+
		"fine-tune them first (pawnet train -model torchvision -init %s) and give that run's model.safetensors, "+
		"or teach them your classes (pawnet teach -weights %s DIR)", flagName, spec, spec, spec)
}

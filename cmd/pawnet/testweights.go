//go:build pawnettest

package main

import "github.com/pawnet/pawnet/trainer/pretrained/hub"

// In the CLI tests' build (-tags pawnettest), torchvision:alexnet-tiny
// names trainer/pretrained's PyTorch fixture (torchvision's AlexNet at
// reduced widths, for -model torchvision-tiny) under a published-style
// name carrying its SHA-256 prefix; the tests serve it from a loopback
// server through PAWNET_WEIGHTS_URL.
func init() { hub.Torchvision["alexnet-tiny"] = "alexnet_tiny-f806544d.pth" }

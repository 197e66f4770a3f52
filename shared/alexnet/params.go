package alexnet

import "fmt"

// ParamSpec names one parameter tensor of the model and gives its shape, in
// the layout a PyTorch user of torchvision's AlexNet would recognize:
//
//	features.{0,3,6,8,10}.weight  [out, in, kh, kw]   (OIHW)
//	features.{0,3,6,8,10}.bias    [out]
//	classifier.{1,4,6}.weight     [out, in]
//	classifier.{1,4,6}.bias       [out]
//
// The input of classifier.1 is the last feature map flattened in PyTorch's
// (C, H, W) order, so the file loads into an equivalent nn.Module as is.
type ParamSpec struct {
	Name  string
	Shape []int
}

// ConvNames are the torchvision module indices of the five conv layers.
var ConvNames = [NumConv]string{"features.0", "features.3", "features.6", "features.8", "features.10"}

// DenseNames are the torchvision module indices of the three dense layers.
var DenseNames = [3]string{"classifier.1", "classifier.4", "classifier.6"}

// Params lists every parameter of the configuration, in a fixed order.
func (c Config) Params() []ParamSpec {
	var ps []ParamSpec
	in := 3
	for i := 0; i < NumConv; i++ {
		out, k := c.Channels[i], c.Kernels[i]
		ps = append(ps,
			ParamSpec{ConvNames[i] + ".weight", []int{out, in, k, k}},
			ParamSpec{ConvNames[i] + ".bias", []int{out}})
		in = out
	}
	dims := [3][2]int{{c.Dense, c.FlatFeatures()}, {c.Dense, c.Dense}, {c.Classes, c.Dense}}
	for i, d := range dims {
		ps = append(ps,
			ParamSpec{DenseNames[i] + ".weight", []int{d[0], d[1]}},
			ParamSpec{DenseNames[i] + ".bias", []int{d[0]}})
	}
	return ps
}

// NumParams is the total number of scalar parameters.
func (c Config) NumParams() int {
	n := 0
	for _, p := range c.Params() {
		n += numElems(p.Shape)
	}
	return n
}

// Size returns the number of elements of the parameter.
func (p ParamSpec) Size() int { return numElems(p.Shape) }

func numElems(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// String summarizes the configuration in one line.
func (c Config) String() string {
	return fmt.Sprintf("%s: %dpx, conv %v k%v s%v p%v, dense %d, dropout %.2g, %d classes, %.2fM params",
		c.Name, c.InputSize, c.Channels, c.Kernels, c.Strides, c.Pads, c.Dense, c.Dropout, c.Classes, float64(c.NumParams())/1e6)
}

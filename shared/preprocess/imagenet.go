package preprocess

// SourceImageNet is the Stats.Source of ImageNetStats.
const SourceImageNet = "imagenet"

// ImageNetStats returns ImageNet's normalization, the one torchvision's
// pretrained models were trained with (mean 0.485, 0.456, 0.406 and std
// 0.229, 0.224, 0.225 on the [0,1] scale). Weights trained on ImageNet
// expect their inputs normalized this way, whatever the data they are
// fine-tuned on. Size, Images and Pixels are zero: nothing was counted.
func ImageNetStats() Stats {
	return Stats{Mean: [3]float64{0.485, 0.456, 0.406}, Std: [3]float64{0.229, 0.224, 0.225}, Source: SourceImageNet}
}

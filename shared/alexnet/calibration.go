package alexnet

// TemperedProbabilities is the softmax of logits/t: Probabilities with a
// temperature t fitted after training (Metadata.Temperature). t > 1
// softens over-confident outputs, t < 1 sharpens them; t ≤ 0 (no
// temperature recorded) means 1. The arg-max, hence the accuracy, does
// not change.
func TemperedProbabilities(logits []float32, t float64) []float32 {
	if t <= 0 || t == 1 {
		return Probabilities(logits)
	}
	scaled := make([]float32, len(logits))
	for i, v := range logits {
		scaled[i] = float32(float64(v) / t)
	}
	return Probabilities(scaled)
}

package metrics_test

import (
	"fmt"
	"log"

	"github.com/pawnet/pawnet/shared/metrics"
)

// Decode reads one line of a run's metrics.jsonl (or one WebSocket frame)
// and returns a pointer to the message's concrete type, chosen by its
// "type" field. These two lines have the shapes a training run writes.
func ExampleDecode() {
	lines := []string{
		`{"type":"step","v":2,"seq":147,"t":1764150061200,"epoch":3,"step":40,"steps_per_epoch":50,"global_step":140,"loss":0.5731,"images_per_sec":312.4,"elapsed_sec":61.2,"eta_sec":3.1,"input_wait":0.02}`,
		`{"type":"epoch","v":2,"seq":151,"t":1764150064800,"epoch":3,"epochs":55,"train_loss":0.561,"train_acc":0.712,"val_loss":0.588,"val_acc":0.6925,"val_log_loss":0.588,"lr":0.00098,"seconds":20.4,"best":true,"best_epoch":3,"best_val_acc":0.6925}`,
	}
	for _, line := range lines {
		m, err := metrics.Decode([]byte(line))
		if err != nil {
			log.Fatal(err)
		}
		switch m := m.(type) {
		case *metrics.Step:
			fmt.Printf("seq %d %s: epoch %d, step %d/%d, loss %.3f, %.0f img/s\n",
				m.Seq, m.Type, m.Epoch, m.Step, m.StepsPerEpoch, m.Loss, m.ImagesPerSec)
		case *metrics.Epoch:
			fmt.Printf("seq %d %s: epoch %d/%d, val acc %.2f%%, val log loss %.3f, best %v\n",
				m.Seq, m.Type, m.Epoch, m.Epochs, 100*m.ValAcc, m.ValLogLoss, m.Best)
		}
	}

	// A message type this build does not know is an error, as is a schema
	// version newer than Version.
	_, err := metrics.Decode([]byte(`{"type":"note","v":2,"seq":152}`))
	fmt.Println(err)
	// Output:
	// seq 147 step: epoch 3, step 40/50, loss 0.573, 312 img/s
	// seq 151 epoch: epoch 3/55, val acc 69.25%, val log loss 0.588, best true
	// metrics: unknown message type "note"
}

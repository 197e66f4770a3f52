package model

import (
	"fmt"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/distributed"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/core/tensors/dtensor"
	"github.com/gomlx/gomlx/ml/train"
)

// BatchAxis is the name of the one axis of the device mesh that data-parallel
// training splits the batch over.
const BatchAxis = "batch"

// ResolveDevices returns how many devices of backend a model trains on when
// asked for requested (0: all the backend has). It fails, naming the
// backend, when the backend has fewer devices than requested, and when the
// batch does not split evenly over them (batch 0: not known yet). It never
// falls back to fewer devices.
func ResolveDevices(backend compute.Backend, requested, batch int) (int, error) {
	have := backend.NumDevices()
	n := requested
	switch {
	case requested < 0:
		return 0, fmt.Errorf("-devices %d: must be 0 (all of the backend's) or more", requested)
	case requested == 0:
		n = have
	case requested > have:
		name := GoBackendName // the only backend compiled in besides XLA
		if backend.Name() == XLABackendName {
			name = XLABackendName
		}
		return 0, tooFewDevices(name, backend.Description(), have, requested)
	}
	if n > 1 && batch > 0 && batch%n != 0 {
		return 0, fmt.Errorf("-batch %d does not split evenly over %d devices; pass a multiple of %d, or -devices", batch, n, n)
	}
	return max(n, 1), nil
}

// CheckDevices reports, before any backend is created, a device count that
// the named backend (GOMLX_BACKEND syntax, "" for the pure-Go one) is known
// not to have: the pure-Go backend has exactly one device. Other backends
// are checked by ResolveDevices once created.
func CheckDevices(backendName string, requested int) error {
	if requested < 0 {
		return fmt.Errorf("-devices %d: must be 0 (all of the backend's) or more", requested)
	}
	if name, _, _ := strings.Cut(backendName, ":"); (name == "" || name == GoBackendName) && requested > 1 {
		return tooFewDevices(GoBackendName, "", 1, requested)
	}
	return nil
}

func tooFewDevices(name, desc string, have, requested int) error {
	what := fmt.Sprintf("backend %q (%s) has %d device(s)", name, desc, have)
	if name == GoBackendName {
		what = fmt.Sprintf("backend %q, GoMLX's pure-Go CPU backend, has one device", GoBackendName)
	}
	return fmt.Errorf("-devices %d: %s; training on several devices needs XLA with as many GPUs (-backend gpu)", requested, what)
}

// dataParallel splits each training batch over a 1-D mesh of devices
// through GoMLX's AutoSharding (XLA's SPMD partitioner): every device holds
// a replica of the variables and the optimizer state, takes batch/N
// examples, and XLA inserts the gradient all-reduce. The variables are the
// same single logical tensors as on one device, so checkpoints and exports
// do not change with the device count.
type dataParallel struct {
	mesh    *distributed.DeviceMesh
	devices []compute.DeviceNum
	batch   *distributed.ShardingSpec // axis 0 split over the mesh
}

// newDataParallel builds the mesh over devices 0..n-1.
func newDataParallel(n int) (*dataParallel, error) {
	mesh, err := distributed.NewDeviceMesh([]int{n}, []string{BatchAxis})
	if err != nil {
		return nil, err
	}
	spec, err := distributed.BuildSpec(mesh).S(BatchAxis).Done()
	if err != nil {
		return nil, err
	}
	dp := &dataParallel{mesh: mesh, batch: spec}
	for i := range n {
		dp.devices = append(dp.devices, compute.DeviceNum(i))
	}
	return dp, nil
}

// trainStep shards the batch's tensors over the mesh (taking ownership of
// them, as train.Trainer.TrainStep does) and runs one distributed step.
func (dp *dataParallel) trainStep(t *train.Trainer, b train.Batch) ([]*tensors.Tensor, error) {
	shard := func(ts []*tensors.Tensor) ([]*dtensor.Tensor, error) {
		out := make([]*dtensor.Tensor, len(ts))
		for i, x := range ts {
			d, err := dtensor.ShardTensor(dp.batch, x)
			_ = x.FinalizeAll()
			if err != nil {
				return nil, err
			}
			out[i] = d
		}
		return out, nil
	}
	in, err := shard(b.Inputs)
	if err != nil {
		return nil, err
	}
	labels, err := shard(b.Labels)
	if err != nil {
		return nil, err
	}
	return t.DistributedTrainStep(distributed.AutoSharding, dp.devices, train.DistributedBatch{Inputs: in, Labels: labels})
}

// Devices is the number of devices the model trains on (1 unless
// Options.Devices asked for more and the backend has them).
func (m *Model) Devices() int {
	if m.dp == nil {
		return 1
	}
	return len(m.dp.devices)
}

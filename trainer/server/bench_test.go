package server

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/pawnet/pawnet/shared/metrics"
)

const benchClients = 10

// connectReaders connects n clients to s that read and count messages.
func connectReaders(b *testing.B, s *Server, n int) []*atomic.Int64 {
	b.Helper()
	counts := make([]*atomic.Int64, n)
	for i := range counts {
		counts[i] = new(atomic.Int64)
		conn := dial(b, s, "")
		go func(count *atomic.Int64) {
			for {
				if _, _, err := conn.ReadMessage(); err != nil {
					return
				}
				count.Add(1)
			}
		}(counts[i])
	}
	waitFor(b, "the clients", func() bool { return s.Hub().Clients() == n })
	return counts
}

// waitReceived waits until every client has received at least n messages.
func waitReceived(b *testing.B, counts []*atomic.Int64, n int64) {
	deadline := time.Now().Add(readGuard)
	for _, c := range counts {
		for c.Load() < n {
			if time.Now().After(deadline) {
				b.Fatalf("a client is stuck at %d of %d messages", c.Load(), n)
			}
			time.Sleep(20 * time.Microsecond) // not a spin: the clients need the cores
		}
	}
}

// benchStep is a typical Step message (the most frequent type).
func benchStep(seq int64) metrics.Message {
	m := &metrics.Step{Epoch: 3, Step: int(seq % 700), StepsPerEpoch: 700, GlobalStep: seq, Loss: 0.4123456789,
		ImagesPerSec: 812.53, ElapsedSec: 61.25, ETASec: 120.5, InputWait: 0.0123}
	metrics.Stamp(m, seq, time.Now().UnixMilli())
	return m
}

// BenchmarkDeliver10Clients measures delivery on loopback: one op is one
// message emitted and received by all 10 clients; msgs/s counts the
// messages received, all clients together. The producer keeps within 512
// messages of the slowest client, so that it measures delivery as the
// clients keep up, not how fast a backlog drains.
func BenchmarkDeliver10Clients(b *testing.B) {
	hub := NewHub(quiet())
	s := start(b, hub, Options{})
	counts := connectReaders(b, s, benchClients)
	data, _ := metrics.Encode(benchStep(1))
	b.SetBytes(int64(len(data) * benchClients))
	b.ResetTimer()
	t0 := time.Now()
	for i := 1; i <= b.N; i++ {
		hub.Emit(benchStep(int64(i)), nil)
		if i%256 == 0 {
			waitReceived(b, counts, int64(i-512))
		}
	}
	waitReceived(b, counts, int64(b.N))
	elapsed := time.Since(t0)
	b.StopTimer()
	b.ReportMetric(float64(b.N*benchClients)/elapsed.Seconds(), "msgs/s")
	if d := hub.Dropped(); d != 0 {
		b.Fatalf("%d clients dropped", d)
	}
}

// BenchmarkEmit10Clients measures the producer's cost: one op is one Emit
// (encode, record, wake 10 clients) while 10 clients read. The timer
// stops every 512 messages while the clients catch up.
func BenchmarkEmit10Clients(b *testing.B) {
	hub := NewHub(quiet())
	s := start(b, hub, Options{})
	counts := connectReaders(b, s, benchClients)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		hub.Emit(benchStep(int64(i)), nil)
		if i%512 == 0 {
			b.StopTimer()
			waitReceived(b, counts, int64(i))
			b.StartTimer()
		}
	}
	b.StopTimer()
	waitReceived(b, counts, int64(b.N))
	if d := hub.Dropped(); d != 0 {
		b.Fatalf("%d clients dropped", d)
	}
}

// BenchmarkEmitNoClients is BenchmarkEmit10Clients's baseline: encoding
// and recording a message with nobody connected.
func BenchmarkEmitNoClients(b *testing.B) {
	hub := NewHub(quiet())
	b.ReportAllocs()
	for i := 1; i <= b.N; i++ {
		hub.Emit(benchStep(int64(i)), nil)
	}
}

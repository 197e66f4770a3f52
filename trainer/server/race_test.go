//go:build race

package server

// raceEnabled is set under -race, which also turns on checkptr: GoMLX's
// pure-Go matmul (gomlx/compute v0.1.2, unsafePackLHS) fails checkptr, so
// the test that trains a model is skipped there.
const raceEnabled = true

package vmm

// KickSignal exposes kickSignal to the tests.
var KickSignal = kickSignal

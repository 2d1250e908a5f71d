package app

import (
	"testing"
	"time"

	"github.com/gofaxserver/gofaxserver/gofaxd/internal/receive"
)

// TestFinishTimeCoversKill: after the grace a killed call has time for
// both tries to end it and to be recorded before gofaxd stops waiting,
// and a stop stays within the documented shutdowngrace + 20 s.
func TestFinishTimeCoversKill(t *testing.T) {
	if need := 2*receive.KillGrace + finishMargin; FinishTime < need {
		t.Errorf("FinishTime %v < 2 × KillGrace %v + %v", FinishTime, receive.KillGrace, finishMargin)
	}
	if StopOverhead > 20*time.Second {
		t.Errorf("StopOverhead %v: the documented bound is shutdowngrace + 20s", StopOverhead)
	}
}

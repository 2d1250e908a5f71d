package receive

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestPageSeconds(t *testing.T) {
	for _, tc := range []struct {
		name     string
		measured map[int]time.Duration
		written  []uint32
		want     []uint32
	}{
		{"fast pages, spandsp wrote 0", map[int]time.Duration{1: 300 * time.Millisecond, 2: 999 * time.Millisecond},
			[]uint32{0, 0}, []uint32{1, 1}},
		{"rounded up", map[int]time.Duration{1: 1001 * time.Millisecond, 2: 9600 * time.Millisecond, 3: 2 * time.Second},
			[]uint32{1, 9, 2}, []uint32{2, 10, 2}},
		{"spandsp's longer time kept", map[int]time.Duration{1: 10 * time.Millisecond}, []uint32{7}, []uint32{7}},
		{"untimed page: spandsp's, at least 1", map[int]time.Duration{1: 1500 * time.Millisecond}, []uint32{0, 0, 4},
			[]uint32{2, 1, 4}},
		{"no events", nil, []uint32{0, 3}, []uint32{1, 3}},
		{"events for pages the file lacks", map[int]time.Duration{1: time.Second, 5: time.Hour, 1 << 30: time.Second},
			[]uint32{0}, []uint32{1}},
		{"huge", map[int]time.Duration{1: math.MaxInt64}, []uint32{0}, []uint32{math.MaxUint32}},
		{"file unreadable", map[int]time.Duration{1: time.Second}, nil, []uint32{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pageSeconds(tc.measured, tc.written); !slices.Equal(got, tc.want) {
				t.Errorf("pageSeconds = %v, want %v", got, tc.want)
			}
		})
	}
}

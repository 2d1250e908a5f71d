package api

import (
	"sync"
	"time"
)

// maxBuckets bounds the limiter's memory: one bucket per credential seen
// recently. Beyond it, buckets that have refilled (which are as good as
// new) are dropped; if none has, the oldest-looking half goes.
const maxBuckets = 10000

// limiter is a token bucket per key: rate tokens a second, at most burst
// saved up; each request takes one.
type limiter struct {
	rate  float64
	burst float64
	max   int

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst, maxKeys int) *limiter {
	return &limiter{rate: rate, burst: float64(burst), max: maxKeys, buckets: make(map[string]*bucket)}
}

// allow takes a token from key's bucket. When there is none it returns
// false and how long until there is one.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(key, now)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, l.until(b)
}

// peek is allow without taking the token: whether key's bucket has one,
// else how long until it has.
func (l *limiter) peek(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(key, now)
	if b.tokens >= 1 {
		return true, 0
	}
	return false, l.until(b)
}

// charge takes a token from key's bucket whether or not it has one (after
// a peek, others may have taken it meanwhile), at most burst beyond
// empty.
func (l *limiter) charge(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(key, now)
	b.tokens = max(b.tokens-1, -l.burst)
}

// bucket returns key's bucket, refilled up to now, making a full one
// (and room for it) when there is none.
func (l *limiter) bucket(key string, now time.Time) *bucket {
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= l.max {
			l.evict(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	if el := now.Sub(b.last); el > 0 {
		b.tokens = min(l.burst, b.tokens+el.Seconds()*l.rate)
		b.last = now
	}
	return b
}

// until is how long until b has a token.
func (l *limiter) until(b *bucket) time.Duration {
	return time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// evict makes room: full buckets first, then those unused the longest.
func (l *limiter) evict(now time.Time) {
	var oldest time.Time
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		} else if oldest.IsZero() || b.last.Before(oldest) {
			oldest = b.last
		}
	}
	if len(l.buckets) < l.max {
		return
	}
	// Everyone is busy: drop those idle longer than the median age,
	// approximated by the midpoint between the oldest and now.
	mid := oldest.Add(now.Sub(oldest) / 2)
	for k, b := range l.buckets {
		if !b.last.After(mid) {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= l.max {
		clear(l.buckets)
	}
}

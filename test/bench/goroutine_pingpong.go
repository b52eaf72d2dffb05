// goroutine_pingpong — chan_pingpong.c's measurement, in Go: two
// goroutines pass a token over unbuffered channels, one per direction, and
// the time per one-way hand-off is printed (median of 3 runs of 1,000,000
// round trips) with GOMAXPROCS 1 and 2.  The Go side of BENCHMARKS.md's
// "What a thread hand-off costs".  Not run by `make bench`: Go is not one of
// wshub's dependencies.  With Debian's golang-go:
//
//	go run test/bench/goroutine_pingpong.go
package main

import (
	"fmt"
	"runtime"
	"sort"
	"time"
)

func run(n int) time.Duration {
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v
		}
	}()
	t0 := time.Now()
	for i := 0; i < n; i++ {
		ping <- i
		<-pong
	}
	d := time.Since(t0)
	close(ping)
	return d / time.Duration(2*n)
}

func main() {
	for _, procs := range []int{1, 2} {
		runtime.GOMAXPROCS(procs)
		var r []time.Duration
		for i := 0; i < 3; i++ {
			r = append(r, run(1000000))
		}
		sort.Slice(r, func(a, b int) bool { return r[a] < r[b] })
		fmt.Printf("GOMAXPROCS=%d: %v per one-way hand-off (median of 3)\n", procs, r[1])
	}
}

// loadgen is a load generator on loopback with two modes, each printing a JSON summary.
//
// Webhooks (bench/webhooks.py): signed Standard Webhooks events (contact.upserted) to one sixdeg webhook URL as
// fast as `-c` concurrent keep-alive connections allow (or, with -rate, at a fixed rate: open loop): accepted
// requests per second, latency percentiles of the answers, and how many were not 202.
//
// Replay (bench/api_load.py, with -urls): GET the URLs of a file (one a line, in order, round robin) with
// `Authorization: Bearer <-token>` over `-c` keep-alive connections, for `-d` (or `-n` requests): requests
// per second, latency percentiles, and errors (transport errors and answers that are not 2xx).
package main

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	url := flag.String("url", "", "webhook URL")
	secret := flag.String("secret", "", "whsec_... signing secret")
	total := flag.Int("n", 10000, "events to send")
	concurrency := flag.Int("c", 16, "concurrent connections")
	prefix := flag.String("prefix", "load", "contact id prefix")
	urls := flag.String("urls", "", "replay mode: file of URLs to GET, one a line")
	token := flag.String("token", "", "replay mode: bearer token")
	duration := flag.Duration("d", 0, "replay mode: how long to send (0: send -n requests)")
	rate := flag.Float64("rate", 0, "webhooks: send at this fixed rate (requests/s, open loop) instead of as fast as answered")
	flag.Parse()
	if *urls != "" {
		replay(*urls, *token, *total, *duration, *concurrency)
		return
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(*secret, "whsec_"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad secret:", err)
		os.Exit(2)
	}
	transport := &http.Transport{MaxIdleConnsPerHost: *concurrency, MaxConnsPerHost: *concurrency}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	latencies := make([]float64, *total)
	var next, failed int64
	statuses := sync.Map{}
	started := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < *concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(atomic.AddInt64(&next, 1)) - 1
				if i >= *total {
					return
				}
				// Open loop: request i is due at started + i/rate, and its latency counts from then, so time spent
				// waiting for a free connection behind slow answers is counted too (no coordinated omission).
				due := time.Now()
				if *rate > 0 {
					due = started.Add(time.Duration(float64(i) / *rate * float64(time.Second)))
					time.Sleep(time.Until(due))
				}
				body, _ := json.Marshal(map[string]any{
					"type": "contact.upserted",
					"data": map[string]any{
						"id":          fmt.Sprintf("%s-%d", *prefix, i),
						"given_name":  fmt.Sprintf("Load%d", i),
						"family_name": *prefix,
						"emails":      []string{fmt.Sprintf("%s-%d@load.example", *prefix, i)},
					},
				})
				id := fmt.Sprintf("msg_%s_%d", *prefix, i)
				ts := fmt.Sprintf("%d", time.Now().Unix())
				mac := hmac.New(sha256.New, key)
				mac.Write([]byte(id + "." + ts + "." + string(body)))
				signature := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
				request, _ := http.NewRequest("POST", *url, bytes.NewReader(body))
				request.Header.Set("Content-Type", "application/json")
				request.Header.Set("webhook-id", id)
				request.Header.Set("webhook-timestamp", ts)
				request.Header.Set("webhook-signature", signature)
				if *rate == 0 {
					due = time.Now()
				}
				response, err := client.Do(request)
				latencies[i] = float64(time.Since(due).Microseconds()) / 1000
				if err != nil {
					atomic.AddInt64(&failed, 1)
					continue
				}
				io.Copy(io.Discard, response.Body)
				response.Body.Close()
				count, _ := statuses.LoadOrStore(response.StatusCode, new(int64))
				atomic.AddInt64(count.(*int64), 1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(started).Seconds()
	sort.Float64s(latencies)
	pick := func(p float64) float64 { return latencies[int(p*float64(len(latencies)-1))] }
	byStatus := map[string]int64{}
	statuses.Range(func(k, v any) bool { byStatus[fmt.Sprint(k)] = *v.(*int64); return true })
	accepted := byStatus["202"]
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"sent": *total, "seconds": elapsed, "accepted": accepted, "accepted_per_second": float64(accepted) / elapsed,
		"p50_ms": pick(0.50), "p99_ms": pick(0.99), "max_ms": latencies[len(latencies)-1],
		"statuses": byStatus, "transport_errors": failed, "offered_per_second": *rate,
	})
}

// replay GETs the URLs of `path` round robin over `concurrency` connections, for `duration` or `total` requests.
func replay(path, token string, total int, duration time.Duration, concurrency int) {
	file, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "urls:", err)
		os.Exit(2)
	}
	var targets []string
	scanner := bufio.NewScanner(file)
	for scanner.Scan() {
		if line := strings.TrimSpace(scanner.Text()); line != "" {
			targets = append(targets, line)
		}
	}
	file.Close()
	if len(targets) == 0 {
		fmt.Fprintln(os.Stderr, "urls: no URLs in", path)
		os.Exit(2)
	}
	transport := &http.Transport{MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	perWorker := make([][]float64, concurrency)
	var next, failed int64
	statuses := sync.Map{}
	started := time.Now()
	deadline := started.Add(duration)
	var wg sync.WaitGroup
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				i := int(atomic.AddInt64(&next, 1)) - 1
				if (duration > 0 && time.Now().After(deadline)) || (duration == 0 && i >= total) {
					return
				}
				request, _ := http.NewRequest("GET", targets[i%len(targets)], nil)
				if token != "" {
					request.Header.Set("Authorization", "Bearer "+token)
				}
				sent := time.Now()
				response, err := client.Do(request)
				if err == nil {
					io.Copy(io.Discard, response.Body)
					response.Body.Close()
				}
				perWorker[w] = append(perWorker[w], float64(time.Since(sent).Microseconds())/1000)
				if err != nil {
					atomic.AddInt64(&failed, 1)
					continue
				}
				count, _ := statuses.LoadOrStore(response.StatusCode, new(int64))
				atomic.AddInt64(count.(*int64), 1)
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(started).Seconds()
	var latencies []float64
	for _, part := range perWorker {
		latencies = append(latencies, part...)
	}
	sort.Float64s(latencies)
	pick := func(p float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[int(p*float64(len(latencies)-1))]
	}
	byStatus := map[string]int64{}
	var ok int64
	statuses.Range(func(k, v any) bool {
		byStatus[fmt.Sprint(k)] = *v.(*int64)
		if code := k.(int); code >= 200 && code < 300 {
			ok += *v.(*int64)
		}
		return true
	})
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"requests": len(latencies), "ok": ok, "errors": int64(len(latencies)) - ok, "seconds": elapsed,
		"requests_per_second": float64(ok) / elapsed, "connections": concurrency, "urls": len(targets),
		"p50_ms": pick(0.50), "p90_ms": pick(0.90), "p99_ms": pick(0.99), "max_ms": pick(1),
		"statuses": byStatus, "transport_errors": failed,
	})
}

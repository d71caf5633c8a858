// loadgen sends signed Standard Webhooks events (contact.upserted) to one sixdeg webhook URL as fast as
// `-c` concurrent keep-alive connections allow, and prints a JSON summary: accepted requests per second,
// latency percentiles of the answers, and how many were not 202. Used by bench/webhooks.py.
package main

import (
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
	flag.Parse()
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
				sent := time.Now()
				response, err := client.Do(request)
				latencies[i] = float64(time.Since(sent).Microseconds()) / 1000
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
		"statuses": byStatus, "transport_errors": failed,
	})
}

package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qbench/qbench/internal/testutil"
	"github.com/qbench/qbench/runners"
	"github.com/qbench/qbench/runners/native"
	"github.com/qbench/qbench/runners/native/tokenizer"
	"github.com/qbench/qbench/tasks/chat"
)

var (
	tinyOnce sync.Once
	tinyEng  *native.Engine
	tinyErr  error
)

func tinyEngine(t *testing.T) *native.Engine {
	t.Helper()
	dir := testutil.Shared(t, "models", "trained-tiny")
	tinyOnce.Do(func() {
		m, err := native.Load(dir, native.LoadOptions{})
		if err != nil {
			tinyErr = err
			return
		}
		tok, err := tokenizer.LoadDir(dir)
		if err != nil {
			tinyErr = err
			return
		}
		tinyEng = native.NewEngine(m, tok, dir)
	})
	if tinyErr != nil {
		t.Fatal(tinyErr)
	}
	return tinyEng
}

func newTestServer(t *testing.T, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	if opts.ModelName == "" {
		opts.ModelName = "tiny"
	}
	s := New(tinyEngine(t), opts)
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return s, hs
}

// post sends body and decodes the JSON answer.
func post(t *testing.T, url string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("decode answer of %s: %v", url, err)
	}
	return resp.StatusCode, out
}

// decodeInto round-trips v into a typed value.
func decodeInto[T any](t *testing.T, v any) T {
	t.Helper()
	b, _ := json.Marshal(v)
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestModels(t *testing.T) {
	_, hs := newTestServer(t, Options{})
	resp, err := http.Get(hs.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Data []struct{ ID string } `json:"data"`
	}
	json.NewDecoder(resp.Body).Decode(&got)
	if len(got.Data) != 1 || got.Data[0].ID != "tiny" {
		t.Fatalf("models %+v, want [tiny]", got)
	}
}

// Tolerance for prompt log-probs against native.Engine.ScoreIDs: the same
// float32 forward pass; the server takes a float64 log-softmax of the
// logits, ScoreIDs the engine's vectorized one (statRow in
// runners/native/sample.go: below 4e-7 absolute), so 1e-6.
const lpTol = 1e-6

func TestEchoLogprobs(t *testing.T) {
	eng := tinyEngine(t)
	_, hs := newTestServer(t, Options{})
	prompt := "Question: Which gas do plants absorb?\nAnswer: carbon dioxide"
	code, out := post(t, hs.URL+"/v1/completions", map[string]any{"model": "tiny", "prompt": prompt, "echo": true, "logprobs": 2, "max_tokens": 0})
	if code != 200 {
		t.Fatalf("status %d: %v", code, out)
	}
	resp := decodeInto[completionResponse](t, out)
	ch := resp.Choices[0]
	ids := eng.Tok.Encode(prompt, true)
	want, err := eng.ScoreIDs(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	lp := ch.Logprobs
	if ch.Text != prompt || len(lp.Tokens) != len(ids) || lp.TokenLogprobs[0] != nil || resp.Usage.PromptTokens != len(ids) {
		t.Fatalf("echo %q with %d tokens (first log-prob %v), want the prompt with %d tokens and a null first log-prob", ch.Text, len(lp.Tokens), lp.TokenLogprobs[0], len(ids))
	}
	if strings.Join(lp.Tokens, "") != prompt {
		t.Errorf("tokens %q do not join to the prompt", lp.Tokens)
	}
	logits, _ := eng.Logits(ids)
	V := eng.Model.Cfg.Vocab
	for i := 1; i < len(ids); i++ {
		if math.Abs(*lp.TokenLogprobs[i]-want[i-1]) > lpTol {
			t.Errorf("token %d %q: log-prob %.9f, want %.9f", i, lp.Tokens[i], *lp.TokenLogprobs[i], want[i-1])
		}
		if lp.TextOffset[i] != lp.TextOffset[i-1]+len([]rune(lp.Tokens[i-1])) {
			t.Errorf("offset %d = %d, want %d", i, lp.TextOffset[i], lp.TextOffset[i-1]+len([]rune(lp.Tokens[i-1])))
		}
		// The top entry is the argmax of the previous position's logits.
		row := logits[(i-1)*V : i*V]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		bestTok := eng.Tok.Decode([]int{best}, false)
		if v, ok := lp.TopLogprobs[i][bestTok]; !ok || len(lp.TopLogprobs[i]) > 2 || v < *lp.TokenLogprobs[i]-lpTol {
			t.Errorf("position %d: top_logprobs %v lacks the argmax %q or holds more than 2", i, lp.TopLogprobs[i], bestTok)
		}
	}
}

// sampledPrompt is a fixed id prompt for the sampling tests.
var sampledPrompt = []int{504, 7680, 359, 4464, 30}

func TestSamplingMatchesEngine(t *testing.T) {
	eng := tinyEngine(t)
	_, hs := newTestServer(t, Options{})
	for _, tc := range []struct {
		name string
		samp native.Sampling
	}{
		{"greedy", native.Sampling{}},
		{"t0.9-p0.95-seed7", native.Sampling{Temperature: 0.9, TopP: 0.95, Seed: 7}},
		{"t1.2-seed1", native.Sampling{Temperature: 1.2, Seed: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantIDs, _, _, err := eng.GenerateIDs(context.Background(), sampledPrompt, 10, tc.samp, nil)
			if err != nil {
				t.Fatal(err)
			}
			body := map[string]any{"prompt": sampledPrompt, "max_tokens": 10, "temperature": tc.samp.Temperature, "seed": tc.samp.Seed}
			if tc.samp.TopP > 0 {
				body["top_p"] = tc.samp.TopP
			}
			code, out := post(t, hs.URL+"/v1/completions", body)
			if code != 200 {
				t.Fatalf("status %d: %v", code, out)
			}
			got := decodeInto[completionResponse](t, out).Choices[0].Text
			if want := eng.Tok.Decode(wantIDs, true); got != want {
				t.Errorf("text (-native +serve)\n-%q\n+%q", want, got)
			}
		})
	}
}

// readSSE returns the data payloads of a server-sent event stream.
func readSSE(t *testing.T, r io.Reader) []string {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("line %q is not an SSE data line", line)
		}
		out = append(out, data)
	}
	return out
}

func TestStreamingEqualsNonStreaming(t *testing.T) {
	_, hs := newTestServer(t, Options{})
	body := map[string]any{"prompt": "Question: What is the capital of France?\nAnswer:", "max_tokens": 24, "temperature": 0, "stop": []string{"\n", "Question"}}
	code, out := post(t, hs.URL+"/v1/completions", body)
	if code != 200 {
		t.Fatalf("status %d: %v", code, out)
	}
	want := decodeInto[completionResponse](t, out).Choices[0]
	body["stream"] = true
	b, _ := json.Marshal(body)
	resp, err := http.Post(hs.URL+"/v1/completions", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	events := readSSE(t, resp.Body)
	if len(events) < 2 || events[len(events)-1] != "[DONE]" {
		t.Fatalf("events %q: want chunks then [DONE]", events)
	}
	var text, finish string
	for _, e := range events[:len(events)-1] {
		var c completionResponse
		if err := json.Unmarshal([]byte(e), &c); err != nil {
			t.Fatal(err)
		}
		text += c.Choices[0].Text
		if c.Choices[0].FinishReason != nil {
			finish = *c.Choices[0].FinishReason
		}
	}
	if text != want.Text || finish != *want.FinishReason {
		t.Errorf("stream (-non-stream +stream)\n-%q %s\n+%q %s", want.Text, *want.FinishReason, text, finish)
	}
}

func TestChat(t *testing.T) {
	tmpl, err := os.ReadFile("testdata/chatml.jinja")
	if err != nil {
		t.Fatal(err)
	}
	msgs := []map[string]any{{"role": "user", "content": "Name a primary colour."}}
	t.Run("no-template", func(t *testing.T) {
		_, hs := newTestServer(t, Options{}) // trained-tiny has no tokenizer_config.json
		code, out := post(t, hs.URL+"/v1/chat/completions", map[string]any{"messages": msgs})
		e := decodeInto[struct {
			Error struct{ Message, Type, Code string }
		}](t, out).Error
		if code != 400 || e.Code != "no_chat_template" || !strings.Contains(e.Message, "--chat-template") {
			t.Fatalf("status %d, error %+v: want 400 no_chat_template suggesting --chat-template", code, e)
		}
	})
	t.Run("template", func(t *testing.T) {
		eng := tinyEngine(t)
		_, hs := newTestServer(t, Options{ChatTemplate: string(tmpl)})
		code, out := post(t, hs.URL+"/v1/chat/completions", map[string]any{"messages": msgs, "max_tokens": 12, "temperature": 0})
		if code != 200 {
			t.Fatalf("status %d: %v", code, out)
		}
		got := decodeInto[struct {
			Choices []struct {
				Message struct{ Role, Content string }
			}
			Usage struct {
				PromptTokens int `json:"prompt_tokens"`
			}
		}](t, out)
		// The same prompt rendered here and generated by the engine.
		text, err := chat.Render(string(tmpl), []runners.Message{{Role: "user", Content: "Name a primary colour."}}, true, "", "")
		if err != nil {
			t.Fatal(err)
		}
		ids := eng.Tok.Encode(text, false)
		wantIDs, _, _, err := eng.GenerateIDs(context.Background(), ids, 12, native.Sampling{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := eng.Tok.Decode(wantIDs, true); got.Choices[0].Message.Content != want || got.Choices[0].Message.Role != "assistant" || got.Usage.PromptTokens != len(ids) {
			t.Errorf("chat answer %+v, want assistant %q with %d prompt tokens", got, want, len(ids))
		}
		// Streamed, the deltas add up to the same answer.
		b, _ := json.Marshal(map[string]any{"messages": msgs, "max_tokens": 12, "temperature": 0, "stream": true})
		resp, err := http.Post(hs.URL+"/v1/chat/completions", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		events := readSSE(t, resp.Body)
		var streamed, role string
		for _, e := range events[:len(events)-1] {
			var c struct {
				Object  string
				Choices []struct {
					Delta        struct{ Role, Content string }
					FinishReason *string `json:"finish_reason"`
				}
			}
			if err := json.Unmarshal([]byte(e), &c); err != nil || c.Object != "chat.completion.chunk" {
				t.Fatalf("chunk %s: %v", e, err)
			}
			streamed += c.Choices[0].Delta.Content
			role += c.Choices[0].Delta.Role
		}
		if events[len(events)-1] != "[DONE]" || streamed != got.Choices[0].Message.Content || role != "assistant" {
			t.Errorf("stream %q (role %q), want %q then [DONE]", streamed, role, got.Choices[0].Message.Content)
		}
		// <|im_start|> must be one special token, not text.
		if id, _ := eng.Tok.(*tokenizer.Tokenizer).TokenID("<|im_start|>"); ids[0] != id {
			t.Errorf("prompt starts with %d, want <|im_start|> (%d)", ids[0], id)
		}
	})
}

func TestErrors(t *testing.T) {
	_, hs := newTestServer(t, Options{MaxBodyBytes: 512})
	for _, tc := range []struct {
		name   string
		path   string
		body   string
		status int
		code   string
	}{
		{"too-large", "/v1/completions", `{"prompt":"` + strings.Repeat("a", 600) + `"}`, 413, "request_too_large"},
		{"bad-json", "/v1/completions", `{"prompt":`, 400, ""},
		{"unknown-model", "/v1/completions", `{"model":"gpt-4","prompt":"hi"}`, 404, "model_not_found"},
		{"n-2", "/v1/completions", `{"prompt":"hi","n":2}`, 400, ""},
		{"too-long", "/v1/completions", `{"prompt":"hi","max_tokens":100000}`, 400, "context_length_exceeded"},
		{"bad-id", "/v1/completions", `{"prompt":[1,999999]}`, 400, ""},
		{"no-route", "/v1/embeddings", `{}`, 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(hs.URL+tc.path, "application/json", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct {
				Error *struct {
					Message string
					Type    string
					Code    any
				}
			}
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Error == nil || e.Error.Message == "" || e.Error.Type == "" {
				t.Fatalf("body not in OpenAI's error shape: %+v, %v", e, err)
			}
			if resp.StatusCode != tc.status || (tc.code != "" && e.Error.Code != tc.code) {
				t.Errorf("status %d code %v (%s), want %d %q", resp.StatusCode, e.Error.Code, e.Error.Message, tc.status, tc.code)
			}
		})
	}
}

func TestQueueLimit(t *testing.T) {
	s, hs := newTestServer(t, Options{MaxQueue: 1})
	s.slot <- struct{}{} // a request holds the engine
	body := `{"prompt":"Hello","max_tokens":2,"temperature":0}`
	first := make(chan int, 1)
	go func() {
		resp, err := http.Post(hs.URL+"/v1/completions", "application/json", strings.NewReader(body))
		if err != nil {
			first <- -1
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	deadline := time.Now().Add(10 * time.Second)
	for s.waiting.Load() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the first request never queued")
		}
		time.Sleep(time.Millisecond)
	}
	resp, err := http.Post(hs.URL+"/v1/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("second waiting request: status %d, Retry-After %q; want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	<-s.slot
	if code := <-first; code != 200 {
		t.Errorf("queued request finished with %d, want 200", code)
	}
}

// TestConcurrentRequests runs requests at once (run with -race): they are
// serialized on the engine and each equals its sequential answer.
func TestConcurrentRequests(t *testing.T) {
	_, hs := newTestServer(t, Options{})
	prompts := []string{"Once upon a time", "The capital of Spain is", "2 + 2 =", "def f(x):"}
	want := make([]string, len(prompts))
	for i, p := range prompts {
		_, out := post(t, hs.URL+"/v1/completions", map[string]any{"prompt": p, "max_tokens": 6, "temperature": 0})
		want[i] = decodeInto[completionResponse](t, out).Choices[0].Text
	}
	var wg sync.WaitGroup
	got := make([]string, len(prompts))
	for i, p := range prompts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, _ := json.Marshal(map[string]any{"prompt": p, "max_tokens": 6, "temperature": 0})
			resp, err := http.Post(hs.URL+"/v1/completions", "application/json", bytes.NewReader(b))
			if err != nil {
				return
			}
			defer resp.Body.Close()
			var c completionResponse
			json.NewDecoder(resp.Body).Decode(&c)
			if len(c.Choices) > 0 {
				got[i] = c.Choices[0].Text
			}
		}()
	}
	wg.Wait()
	for i := range prompts {
		if got[i] != want[i] {
			t.Errorf("prompt %q: concurrent %q, sequential %q", prompts[i], got[i], want[i])
		}
	}
}

func TestGracefulShutdown(t *testing.T) {
	s := New(tinyEngine(t), Options{ModelName: "tiny"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	s.slot <- struct{}{} // hold the engine so the request is in flight when we stop
	result := make(chan string, 1)
	go func() {
		resp, err := http.Post("http://"+ln.Addr().String()+"/v1/completions", "application/json", strings.NewReader(`{"prompt":"Hello","max_tokens":3,"temperature":0}`))
		if err != nil {
			result <- err.Error()
			return
		}
		defer resp.Body.Close()
		result <- fmt.Sprint(resp.StatusCode)
	}()
	for s.waiting.Load() != 1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	time.Sleep(50 * time.Millisecond) // Shutdown has begun: new connections are refused
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("the listener still accepts connections after shutdown began")
	}
	<-s.slot
	if r := <-result; r != "200" {
		t.Errorf("in-flight request: %s, want 200", r)
	}
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func TestCheckAddr(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		remote bool
		ok     bool
	}{
		{"127.0.0.1:8000", false, true},
		{"localhost:0", false, true},
		{"[::1]:8000", false, true},
		{"0.0.0.0:8000", false, false},
		{":8000", false, false},
		{"192.168.1.5:8000", false, false},
		{"0.0.0.0:8000", true, true},
		{"nonsense", true, false},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			if err := CheckAddr(tc.addr, tc.remote); (err == nil) != tc.ok {
				t.Errorf("CheckAddr(%q, %v) = %v, want ok=%v", tc.addr, tc.remote, err, tc.ok)
			}
		})
	}
}

func TestSafePrefix(t *testing.T) {
	for _, tc := range []struct {
		text string
		stop []string
		want int
	}{
		{"Hello wor", []string{"world"}, 6},
		{"Hello\n", []string{"\nQ:"}, 5},
		{"Hello", []string{"\nQ:"}, 5},
		{"ab\uFFFD", nil, 2},
	} {
		if got := safePrefix(tc.text, tc.stop); got != tc.want {
			t.Errorf("safePrefix(%q, %q) = %d, want %d", tc.text, tc.stop, got, tc.want)
		}
	}
}

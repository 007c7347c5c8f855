package telemetry

import (
	"net/http"
	httppprof "net/http/pprof"
)

// NewMux returns the HTTP routes of --metrics-addr:
//
//	GET /metrics        the metrics handler (not routed when metrics is nil)
//	GET /healthz        200 "ok" when healthz returns nil, else 503 and the error
//	GET /readyz         the same with readyz
//	    /debug/pprof/…  the runtime profiles, only when pprof is true
//
// A nil healthz or readyz always answers ok. The probe functions are called
// on every request, concurrently: they must be cheap and safe for that.
// Probe answers are not cached by clients (Cache-Control: no-store).
func NewMux(metrics http.Handler, healthz, readyz func() error, pprof bool) *http.ServeMux {
	mux := http.NewServeMux()
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	mux.Handle("GET /healthz", probe(healthz))
	mux.Handle("GET /readyz", probe(readyz))
	if pprof {
		mux.HandleFunc("/debug/pprof/", httppprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", httppprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", httppprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", httppprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", httppprof.Trace)
	}
	return mux
}

func probe(check func() error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if check != nil {
			if err := check(); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write([]byte(err.Error() + "\n"))
				return
			}
		}
		_, _ = w.Write([]byte("ok\n"))
	})
}

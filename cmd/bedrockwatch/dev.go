package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/bedrockwatch/bedrockwatch/schemas"
	"github.com/bedrockwatch/bedrockwatch/service"
	"github.com/bedrockwatch/bedrockwatch/service/cekafka"
)

const devHelp = `
Starts an embedded Kafka-protocol broker (franz-go's kfake, in memory) on
--kafka-addr and the service against it with the default topic names: try
the product with kcat or any Kafka client, no set-up. Prints the kcat
commands to produce input and read alerts. Accepts run's flags.

With --demo DIR it produces the files of DIR into the input topics (files
named *invocation*, *prompt* or *splunk* to bedrock-invocations, *endpoint*
to endpoint, the rest to cloudtrail; each JSON document or line one record,
keyed by access key id, else principal, else host), prints the alerts it
reads back from the alert topic (read_committed), and stops.

Examples:
  bedrockwatch dev
  bedrockwatch dev --kafka-addr 127.0.0.1:19092 --state-dir /tmp/bw
  bedrockwatch dev --demo testdata/demo
`

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f runFlags
	fs := newFlagSet("dev", "dev [flags]", devHelp, stderr)
	addRunFlags(fs, &f, false)
	addr := fs.String("kafka-addr", "127.0.0.1:9092", "address the embedded broker listens on")
	demo := fs.String("demo", "", "directory of input files to produce, print the alerts of, and stop")
	fs.Lookup("state-dir").DefValue = "(a temporary directory)"
	if err := fs.Set("state-dir", ""); err != nil {
		return err
	}
	fs.Lookup("log-level").DefValue = "warn"
	if err := fs.Set("log-level", "warn"); err != nil {
		return err
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if f.cfg.StateDir == "" {
		dir, err := os.MkdirTemp("", "bedrockwatch-dev-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		f.cfg.StateDir = dir
	}
	f.cfg.CreateTopics = true
	f.cfg.ReplicationFactor = 1
	if f.cfg.Partitions == service.DefaultConfig().Partitions {
		f.cfg.Partitions = 3
	}
	host, portStr, err := net.SplitHostPort(*addr)
	if err != nil {
		return usagef("--kafka-addr %q: %v", *addr, err)
	}
	var port int
	if _, err := fmt.Sscan(portStr, &port); err != nil {
		return usagef("--kafka-addr %q: bad port", *addr)
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.DefaultNumPartitions(int(f.cfg.Partitions)),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return net.Listen(network, net.JoinHostPort(host, portStr))
		}))
	if err != nil {
		return fmt.Errorf("starting the embedded broker on %s: %w (is another broker on that port? try --kafka-addr 127.0.0.1:19092)", *addr, err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	f.cfg.Brokers = brokers
	if err := f.finish(stderr); err != nil {
		return err
	}
	// The input topics exist from the start, so kcat can produce at once.
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopics(ctx, f.cfg.Partitions, 1, nil, f.cfg.Topics.Inputs()...); err != nil {
		return err
	}
	b := brokers[0]
	t := f.cfg.Topics
	if *demo == "" {
		fmt.Fprintf(stdout, `bedrockwatch dev: Kafka on %s, state in %s

Produce input (one JSON record per line; the key is the access key id):
  kcat -P -b %s -t %s -X partitioner=murmur2_random -K '\t' < cloudtrail.tsv
  kcat -P -b %s -t %s < invocations.jsonl
  kcat -P -b %s -t %s < endpoint.jsonl

Read the alerts (CloudEvents) and the dead letters:
  kcat -C -b %s -t %s -X isolation.level=read_committed -o beginning -u
  kcat -C -b %s -t %s -X isolation.level=read_committed -o beginning -u -f '%%h %%s\n'
  bedrockwatch alerts --brokers %s --from-beginning

Ctrl-C stops.
`, b, f.cfg.StateDir, b, t.CloudTrail, b, t.Invocations, b, t.Endpoint, b, t.Alerts, b, t.DLQ, b)
		return serve(ctx, &f, stderr)
	}

	// The demo produces one record at a time and waits for each, so an
	// input partition read to its end is quiet at once: the service then
	// sees the stream as replay does.
	f.cfg.InputIdle = 10 * time.Millisecond
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- serve(sctx, &f, stderr) }()
	n, err := produceDemo(ctx, cl, adm, f.cfg, *demo)
	if err != nil {
		stop()
		<-done
		return err
	}
	fmt.Fprintf(stderr, "bedrockwatch dev: produced %d records from %s; alerts read back from %s:\n", n, *demo, t.Alerts)
	count, err := printAlerts(ctx, brokers, t.Alerts, stdout)
	stop()
	if serr := <-done; serr != nil && err == nil {
		err = serr
	}
	fmt.Fprintf(stderr, "bedrockwatch dev: %d alert(s)\n", count)
	return err
}

// produceDemo produces the files of dir, in name order, one record at a
// time, waiting for the service to consume each, so that the service reads
// them in the order replay would.
func produceDemo(ctx context.Context, cl *kgo.Client, adm *kadm.Client, cfg service.Config, dir string) (int, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil || len(files) == 0 {
		return 0, fmt.Errorf("--demo %s: no files", dir)
	}
	sort.Strings(files)
	dec, err := schemas.NewDecoder(schemas.DefaultConfig())
	if err != nil {
		return 0, err
	}
	n := 0
	for _, file := range files {
		fh, err := os.Open(file)
		if err != nil {
			return n, err
		}
		r, err := schemas.OpenMaybeGzip(fh)
		if err != nil {
			fh.Close()
			return n, err
		}
		var msgs [][]byte
		err = schemas.SplitDocuments(r, 16<<20, func(d schemas.Document) error {
			msgs = append(msgs, bytes.Clone(d.Data))
			return nil
		})
		r.Close()
		fh.Close()
		if err != nil {
			return n, fmt.Errorf("%s: %w", file, err)
		}
		for _, m := range msgs {
			rec := &kgo.Record{Topic: service.InputTopicFor(cfg.Topics, file), Key: service.RecordKey(dec, m), Value: m}
			if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
				return n, err
			}
			n++
			if err := service.WaitCaughtUp(ctx, adm, cfg, time.Minute); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// printAlerts prints the alerts of topic, read_committed, one text line
// each (as `bedrockwatch alerts` prints them), until none came for a second.
func printAlerts(ctx context.Context, brokers []string, topic string, w io.Writer) (int, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	out := bufio.NewWriter(w)
	defer out.Flush()
	n, quiet := 0, 0
	for quiet < 2 && ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		fs := cl.PollFetches(pctx)
		cancel()
		got := 0
		fs.EachRecord(func(r *kgo.Record) {
			got++
			n++
			ev, err := cekafka.Event(r)
			if err != nil {
				fmt.Fprintf(out, "(not an alert CloudEvent: %v)\n", err)
				return
			}
			writeEventLine(out, ev)
		})
		if got == 0 {
			quiet++
		} else {
			quiet = 0
		}
	}
	return n, out.Flush()
}

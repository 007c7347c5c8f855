package service

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/aws"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// ClientOpts returns the franz-go options that connect to the brokers of c
// with its TLS and SASL settings. Every Kafka client of bedrockwatch (the
// service, `alerts`, `bench`) starts from these.
func ClientOpts(brokers []string, t TLS, s SASL) ([]kgo.Opt, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(brokers...)}
	if t.Enabled || t.CAFile != "" || t.CertFile != "" {
		tc, err := tlsConfig(t)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	switch strings.ToUpper(s.Mechanism) {
	case "":
	case "PLAIN":
		opts = append(opts, kgo.SASL(plain.Auth{User: s.Username, Pass: s.Password}.AsMechanism()))
	case "SCRAM-SHA-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: s.Username, Pass: s.Password}.AsSha256Mechanism()))
	case "SCRAM-SHA-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: s.Username, Pass: s.Password}.AsSha512Mechanism()))
	case "AWS_MSK_IAM":
		opts = append(opts, kgo.SASL(aws.ManagedStreamingIAM(func(context.Context) (aws.Auth, error) {
			a := aws.Auth{AccessKey: os.Getenv("AWS_ACCESS_KEY_ID"), SecretKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
				SessionToken: os.Getenv("AWS_SESSION_TOKEN")}
			if a.AccessKey == "" || a.SecretKey == "" {
				return a, errors.New("AWS_MSK_IAM: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials)")
			}
			return a, nil
		})))
	default:
		return nil, fmt.Errorf("sasl-mechanism %q: want PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or AWS_MSK_IAM", s.Mechanism)
	}
	return opts, nil
}

func tlsConfig(t TLS) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // an explicit setting
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls-ca-file %s: no PEM certificate in it", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls-cert-file / tls-key-file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Ping checks that a client reaches its brokers within timeout, and turns
// the usual failures into messages that say what to fix.
func Ping(ctx context.Context, cl *kgo.Client, brokers []string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := cl.Ping(ctx)
	if err == nil {
		return nil
	}
	var ne net.Error
	switch {
	case strings.Contains(err.Error(), "SASL") || strings.Contains(err.Error(), "authentication"):
		return fmt.Errorf("brokers %s refused the credentials: %w (check sasl-mechanism, sasl-username, sasl-password)", strings.Join(brokers, ","), err)
	case strings.Contains(err.Error(), "tls") || strings.Contains(err.Error(), "x509"):
		return fmt.Errorf("TLS to brokers %s failed: %w (check tls-ca-file, tls-server-name)", strings.Join(brokers, ","), err)
	case errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("cannot reach brokers %s within %s: %w (check --brokers and the network)", strings.Join(brokers, ","), timeout, err)
	}
	return fmt.Errorf("brokers %s: %w", strings.Join(brokers, ","), err)
}

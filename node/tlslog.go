package node

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"time"
)

// loggedTLS is cfg with its client certificates verified by the node
// itself, so that a refused one is logged with the peer's address and the
// reason (crypto/tls would refuse it without a word to the node's log).
// The check is the one tls.RequireAndVerifyClientCert makes: a chain to
// cfg.ClientCAs, for client authentication, valid now.
func loggedTLS(cfg *tls.Config, log *slog.Logger) *tls.Config {
	base := cfg.Clone()
	out := cfg.Clone()
	out.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		c := base.Clone()
		c.ClientAuth = tls.RequireAnyClientCert
		peer := hello.Conn.RemoteAddr().String()
		c.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			err := verifyClient(raw, base.ClientCAs)
			if err != nil {
				log.Warn("refused a connection: its client certificate", "peer", peer, "err", err)
			}
			return err
		}
		return c, nil
	}
	return out
}

func verifyClient(raw [][]byte, roots *x509.CertPool) error {
	if len(raw) == 0 {
		return errors.New("no client certificate")
	}
	certs := make([]*x509.Certificate, len(raw))
	for i, b := range raw {
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return err
		}
		certs[i] = c
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: time.Now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	return err
}

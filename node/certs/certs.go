// Package certs makes what a small team needs for nodes over TCP with
// mutual TLS: a certificate authority, node certificates and client
// certificates (ECDSA P-256, crypto/x509 of the standard library), as PEM
// files of mode 0600. A client certificate can be read-only: its
// organizational unit says so, and a node serves such a client lists,
// events and logs, never a command that changes a task.
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// ReadOnlyUnit is the organizational unit of a read-only client's
// certificate.
const ReadOnlyUnit = "taskvisor read-only"

// Validity is how long the certificates made here are valid.
const Validity = 2 * 365 * 24 * time.Hour

// Files are the PEM files of a certificate and its key in a directory.
type Files struct {
	Cert string // the certificate, NAME.pem
	Key  string // its private key, NAME-key.pem
}

// In returns the files of name in dir: NAME.pem and NAME-key.pem.
func In(dir, name string) Files {
	return Files{Cert: filepath.Join(dir, name+".pem"), Key: filepath.Join(dir, name+"-key.pem")}
}

// Init makes a certificate authority in dir (ca.pem, ca-key.pem), unless
// one is there.
func Init(dir string) (Files, error) {
	f := In(dir, "ca")
	if _, err := os.Stat(f.Cert); err == nil {
		return f, fmt.Errorf("certs init: %s exists: a directory holds one CA", f.Cert)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return f, err
	}
	tmpl := template("taskvisor CA", time.Now(), Validity)
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return f, fmt.Errorf("certs init: %w", err)
	}
	return f, write(dir, f, der, key)
}

// Options are what a node or client certificate says beyond its name.
type Options struct {
	// Hosts are a node's DNS names and IP addresses (SANs); its name is
	// always one.
	Hosts []string
	// ReadOnly marks a client certificate read-only.
	ReadOnly bool
	// NotBefore is when it becomes valid; zero: now.
	NotBefore time.Time
	// Validity is how long it is valid from then; zero: Validity.
	Validity time.Duration
}

// Node makes a node certificate for name, signed by the CA in dir.
func Node(dir, name string, o Options) (Files, error) {
	return issue(dir, name, o, x509.ExtKeyUsageServerAuth)
}

// Client makes a client certificate for name, signed by the CA in dir.
func Client(dir, name string, o Options) (Files, error) {
	return issue(dir, name, o, x509.ExtKeyUsageClientAuth)
}

func issue(dir, name string, o Options, usage x509.ExtKeyUsage) (Files, error) {
	f := In(dir, name)
	if name == "" || name == "ca" || filepath.Base(name) != name {
		return f, fmt.Errorf("certs: %q cannot name a certificate", name)
	}
	ca, caKey, err := loadCA(dir)
	if err != nil {
		return f, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return f, err
	}
	notBefore := o.NotBefore
	if notBefore.IsZero() {
		notBefore = time.Now()
	}
	validity := o.Validity
	if validity == 0 {
		validity = Validity
	}
	tmpl := template(name, notBefore, validity)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{usage}
	if usage == x509.ExtKeyUsageServerAuth {
		for _, h := range append([]string{name}, o.Hosts...) {
			if ip := net.ParseIP(h); ip != nil {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			} else {
				tmpl.DNSNames = append(tmpl.DNSNames, h)
			}
		}
	}
	if o.ReadOnly {
		tmpl.Subject.OrganizationalUnit = []string{ReadOnlyUnit}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return f, fmt.Errorf("certs %s: %w", name, err)
	}
	return f, write(dir, f, der, key)
}

func template(name string, notBefore time.Time, validity time.Duration) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name, Organization: []string{"taskvisor"}},
		NotBefore:    notBefore.Add(-time.Minute), // clocks a little apart
		NotAfter:     notBefore.Add(validity),
	}
}

// write writes the certificate and its key, 0600, in a 0700 directory.
func write(dir string, f Files, der []byte, key *ecdsa.PrivateKey) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(f.Key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(f.Cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
}

func loadCA(dir string) (*x509.Certificate, any, error) {
	f := In(dir, "ca")
	pair, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: the CA in %s: %w (make one with taskvisor certs init)", dir, err)
	}
	ca, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, nil, err
	}
	return ca, pair.PrivateKey, nil
}

// Pool reads the CA certificate of dir into a pool.
func Pool(caFile string) (*x509.CertPool, error) {
	b, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s: no PEM certificate", caFile)
	}
	return pool, nil
}

// ServerConfig is the TLS 1.3 configuration of a node: its certificate,
// and a client certificate signed by the CA required.
func ServerConfig(node Files, caFile string) (*tls.Config, error) {
	pair, err := tls.LoadX509KeyPair(node.Cert, node.Key)
	if err != nil {
		return nil, fmt.Errorf("node certificate: %w", err)
	}
	pool, err := Pool(caFile)
	if err != nil {
		return nil, fmt.Errorf("CA: %w", err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{pair},
		ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}, nil
}

// ClientConfig is the TLS 1.3 configuration of a client of the node
// serverName: its certificate, and the node's checked against the CA.
func ClientConfig(client Files, caFile, serverName string) (*tls.Config, error) {
	pair, err := tls.LoadX509KeyPair(client.Cert, client.Key)
	if err != nil {
		return nil, fmt.Errorf("client certificate: %w", err)
	}
	// Said here, where the reason is known: a node refuses an expired
	// certificate, but in TLS 1.3 its alert may reach the client as a
	// broken pipe.
	if leaf, err := x509.ParseCertificate(pair.Certificate[0]); err == nil && time.Now().After(leaf.NotAfter) {
		return nil, fmt.Errorf("client certificate %s expired on %s (make a new one with taskvisor certs client)",
			client.Cert, leaf.NotAfter.Format(time.DateOnly))
	}
	pool, err := Pool(caFile)
	if err != nil {
		return nil, fmt.Errorf("CA: %w", err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{pair},
		RootCAs: pool, ServerName: serverName}, nil
}

// ReadOnly reports whether a verified client certificate is read-only.
func ReadOnly(c *x509.Certificate) bool {
	return c != nil && slices.Contains(c.Subject.OrganizationalUnit, ReadOnlyUnit)
}

// ErrReadOnly is the refusal of a command to a read-only client.
var ErrReadOnly = errors.New("this client's certificate is read-only")

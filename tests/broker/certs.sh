#!/bin/bash
# certs.sh — throwaway certificates for kafkagate's TLS tests, generated at
# test time with the openssl command line tool (nothing is checked in, so
# nothing expires in the tree).  Not part of the product.
#
#   certs.sh DIR        write the files below into DIR (created if needed);
#                       does nothing if DIR/.complete exists
#
# Files (PEM; keys are unencrypted PKCS#8, "BEGIN PRIVATE KEY", which is what
# Kafka's PEM keystores need, kafka-test-broker.md §3.2):
#
#   ca.pem, ca.key           the test CA: CN=kafkagate-test-ca, CA:TRUE
#   broker.pem, broker.key   broker certificate signed by the CA: CN=localhost,
#                            SAN DNS:localhost, IP:127.0.0.1, serverAuth
#   broker-ks.pem            broker.key + broker.pem + ca.pem: a Kafka PEM
#                            keystore (ssl.keystore.type=PEM, no password)
#   self.pem, self.key       a SEPARATE self-signed broker certificate, made
#                            like `keytool -genkeypair` makes one (APISIX's
#                            CI keystore): CN=localhost, the same SAN, a
#                            subject key identifier and no basicConstraints.
#                            Nothing signs it but itself: a client that
#                            verifies fails unless it trusts self.pem itself.
#   self-ks.pem              self.key + self.pem (Kafka PEM keystore)
#   client.pem, client.key   client certificate signed by the CA for mTLS:
#                            CN=kafkagate-client, clientAuth
#   gateway.pem, gateway.key the gateway's wss:// certificate, signed by the
#                            CA: CN=localhost, SAN DNS:localhost, IP:127.0.0.1,
#                            serverAuth
#   other-ca.pem, other-ca.key  a second CA that signed nothing we serve (a
#                            "wrong CA" for negative tests)
#
# RSA 2048, SHA-256, valid from one day ago (clock skew) for ten years.
set -eu

die() { printf 'certs.sh: error: %s\n' "$*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: $0 DIR"
command -v openssl >/dev/null 2>&1 || die "openssl not found (Debian: openssl)"
mkdir -p "$1"
dir=$(cd "$1" && pwd)
[ -f "$dir/.complete" ] && exit 0
cd "$dir"
umask 077

# Every extension is spelled out in our own config files, so the output does
# not depend on the system's openssl.cnf.
cat >openssl.cnf <<'EOF'
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ v3_server ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_client ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_selfsigned ]
subjectKeyIdentifier = hash
subjectAltName = DNS:localhost, IP:127.0.0.1
EOF
export OPENSSL_CONF=$dir/openssl.cnf

days=3650
# x509 -req has no "not before" option; -days counts from now.  One day of
# skew tolerance is not worth a second tool; the certs live minutes.
ossl() { openssl "$@" 2>>"$dir/openssl.log" || { cat "$dir/openssl.log" >&2; die "openssl $1 failed"; }; }

newkey() { # NAME: NAME.key, RSA 2048, PKCS#8 unencrypted
	ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key"
}

ca() { # NAME CN
	newkey "$1"
	ossl req -new -x509 -key "$1.key" -subj "/CN=$2" -days $days -sha256 \
		-config openssl.cnf -extensions v3_ca -out "$1.pem"
}

leaf() { # NAME CN EXTENSIONS CA
	newkey "$1"
	ossl req -new -key "$1.key" -subj "/CN=$2" -config openssl.cnf -out "$1.csr"
	ossl x509 -req -in "$1.csr" -CA "$4.pem" -CAkey "$4.key" -CAcreateserial \
		-days $days -sha256 -extfile openssl.cnf -extensions "$3" -out "$1.pem"
	rm -f "$1.csr"
}

ca ca kafkagate-test-ca
ca other-ca kafkagate-other-ca
leaf broker localhost v3_server ca
leaf client kafkagate-client v3_client ca
leaf gateway localhost v3_server ca
newkey self
ossl req -new -x509 -key self.key -subj "/CN=localhost" -days $days -sha256 \
	-config openssl.cnf -extensions v3_selfsigned -out self.pem

cat broker.key broker.pem ca.pem >broker-ks.pem
cat self.key self.pem >self-ks.pem

# sanity: the chains are what the tests assume
openssl verify -CAfile ca.pem broker.pem >/dev/null 2>&1 || die "broker.pem does not verify against ca.pem"
openssl verify -CAfile ca.pem client.pem >/dev/null 2>&1 || die "client.pem does not verify against ca.pem"
openssl verify -CAfile ca.pem gateway.pem >/dev/null 2>&1 || die "gateway.pem does not verify against ca.pem"
if openssl verify -CAfile ca.pem self.pem >/dev/null 2>&1; then die "self.pem verifies against ca.pem"; fi
grep -q 'BEGIN PRIVATE KEY' broker.key || die "broker.key is not PKCS#8"

# readable by the broker and the gateway (same user); no secrets worth hiding
chmod 644 ./*.pem ./*.key
rm -f ./*.srl openssl.log
touch .complete

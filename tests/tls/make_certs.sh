#!/usr/bin/env bash
# Makes the test PKI of the TLS tests in folder $1, with openssl, at test time (nothing
# secret is committed): a CA, a server certificate for localhost and 127.0.0.1 signed by it,
# and the bad ones a client must refuse: expired, for another name, self-signed, and signed
# by a CA the client does not know. EC P-256 keys throughout.
set -eu
d=$1
mkdir -p "$d"
cd "$d"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
cat >ca.cnf <<'CNF'
[ca]
default_ca = test
[test]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[any]
commonName = supplied
[ext]
basicConstraints = CA:FALSE
subjectAltName = $ENV::SAN
CNF
: >index.txt
echo 1000 >serial
ca() {      # name CN SAN startdate enddate [ca prefix]
    local p=${6:-ca}
    key "$1.key"
    openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr" 2>/dev/null
    SAN=$3 openssl ca -batch -config ca.cnf -extensions ext -keyfile "$p.key" -cert "$p.pem" \
        -startdate "$4" -enddate "$5" -in "$1.csr" -out "$1.pem" -notext 2>/dev/null
}
for c in ca other-ca; do
    key $c.key
    openssl req -x509 -new -key $c.key -subj "/CN=ws.h test $c" -days 3 -out $c.pem \
        -addext basicConstraints=critical,CA:TRUE 2>/dev/null
done
now=$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)
later=$(date -u -d '+2 days' +%Y%m%d%H%M%SZ)
ca server localhost "DNS:localhost,IP:127.0.0.1" "$now" "$later"
ca other-name other.example "DNS:other.example" "$now" "$later"
ca expired localhost "DNS:localhost,IP:127.0.0.1" 20200101000000Z 20200102000000Z
ca unknown-ca localhost "DNS:localhost,IP:127.0.0.1" "$now" "$later" other-ca
key self-signed.key
openssl req -x509 -new -key self-signed.key -subj /CN=localhost -days 3 -out self-signed.pem \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
echo "certificates in $d"

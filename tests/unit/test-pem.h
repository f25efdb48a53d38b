/* A self-signed EC certificate and its key, for tests that need real PEM
 * data (made once with openssl; CN spinkube-test, valid until 2126). */
#ifndef SPINKUBE_TEST_PEM_H
#define SPINKUBE_TEST_PEM_H

static const char CERT[] = "-----BEGIN CERTIFICATE-----\n"
                           "MIIBhzCCAS2gAwIBAgIUEeLn4FgNOEVWD8ja5L0hr4hgo1QwCgYIKoZIzj0EAwIw\n"
                           "GDEWMBQGA1UEAwwNc3Bpbmt1YmUtdGVzdDAgFw0yNjExMjcxMDEwMTRaGA8yMTI2\n"
                           "MTEwMzEwMTAxNFowGDEWMBQGA1UEAwwNc3Bpbmt1YmUtdGVzdDBZMBMGByqGSM49\n"
                           "AgEGCCqGSM49AwEHA0IABCdhuhFBP82YRn3hpkEI30MBkTlgj2PtyJkPIt1487+H\n"
                           "YX6hfscQ2pBBm0q4TBGLAM1MzR6oIxE7+9OM9Di7v2qjUzBRMB0GA1UdDgQWBBTs\n"
                           "D6q4V1rwAFAaDge/rL6KWMx8CjAfBgNVHSMEGDAWgBTsD6q4V1rwAFAaDge/rL6K\n"
                           "WMx8CjAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIQCBLKGMqMap\n"
                           "YbeQMyLdtVSrZ9W4/LL4rMRVfV27QMXZYQIgEvBV1IySdZaOYrX+u0eBFciuR9sc\n"
                           "896hWht0mihXj88=\n"
                           "-----END CERTIFICATE-----\n";

static const char KEY[] = "-----BEGIN PRIVATE KEY-----\n"
                          "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgyItCwx4CxLjW8HHz\n"
                          "VQ0gL5YyeeSsdtmtw9eqc3/vV5ahRANCAAQnYboRQT/NmEZ94aZBCN9DAZE5YI9j\n"
                          "7ciZDyLdePO/h2F+oX7HENqQQZtKuEwRiwDNTM0eqCMRO/vTjPQ4u79q\n"
                          "-----END PRIVATE KEY-----\n";

#endif

# Generates a synthetic observations.csv: `awk -v rows=N -f genlog.awk`.
# 20 domains x (mx: MX + A + AAAA of the target, spf, ns, soa) x 25 resolvers
# + 3 authoritative servers, a round every 10 minutes; resolver s moves to
# the new records at round 2*s (so rounds keep changing states).
BEGIN {
    srand(1)
    printf "time_utc,vantage,round,domain,check,qname,qtype,server,address,transport,status,rcode,latency_ms,ttl,answer,expected,match\r\n"
    t0 = 1795996800; n = 0; round = 0
    while (n < rows) {
        round++
        t = t0 + (round - 1) * 600
        ts = strftime("%Y-%m-%d %H:%M:%S", t, 1)
        for (d = 1; d <= 20 && n < rows; d++) {
            dom = "domain" d ".example"
            tok = "domain" d "-example"
            newmx = "0 " tok ".mail.protection.outlook.com."
            oldmx = "10 mail." dom "."
            for (s = 1; s <= 28 && n < rows; s++) {
                if (s <= 25) { srv = "resolver-" s; addr = "192.0.2." s }
                else { srv = "auth:ns" (s - 25) "." dom "."; addr = "198.51.100." s }
                conv = (s > 25 || round >= 2 * s)
                lat = int(rand() * 80) + 1
                if (s == 7 && round % 5 == 0) {
                    printf "%s,bench,%d,%s,mx,%s.,MX,%s,%s,udp,timeout,,,,,%s,\r\n", ts, round, dom, dom, srv, addr, newmx
                } else {
                    printf "%s,bench,%d,%s,mx,%s.,MX,%s,%s,udp,ok,NOERROR,%d,%d,%s,%s,%s\r\n", ts, round, dom, dom, srv, addr, lat, conv ? 3600 : 3600 - (round * 600) % 3600, conv ? newmx : oldmx, newmx, conv ? "yes" : "no"
                }
                tgt = conv ? tok ".mail.protection.outlook.com." : "mail." dom "."
                printf "%s,bench,%d,%s,mx,%s,A,%s,%s,udp,ok,NOERROR,%d,10,192.0.2.25,,\r\n", ts, round, dom, tgt, srv, addr, lat
                printf "%s,bench,%d,%s,mx,%s,AAAA,%s,%s,udp,nodata,NOERROR,%d,300,,,\r\n", ts, round, dom, tgt, srv, addr, lat
                newspf = "\"\"v=spf1 include:spf.protection.outlook.com -all\"\""
                oldspf = "\"\"v=spf1 mx -all\"\""
                printf "%s,bench,%d,%s,spf,%s.,TXT,%s,%s,udp,ok,NOERROR,%d,3600,\"%s\",\"%s\",%s\r\n", ts, round, dom, dom, srv, addr, lat, conv ? newspf : oldspf, newspf, conv ? "yes" : "no"
                printf "%s,bench,%d,%s,ns,%s.,NS,%s,%s,udp,ok,NOERROR,%d,86400,ns1.%s. | ns2.%s.,ns1.%s. | ns2.%s.,yes\r\n", ts, round, dom, dom, srv, addr, lat, dom, dom, dom, dom
                printf "%s,bench,%d,%s,soa,%s.,SOA,%s,%s,udp,ok,NOERROR,%d,300,ns1.%s. hostmaster.%s. 2026113002 3600 600 604800 300,ns1.%s. hostmaster.%s. 2026113002 3600 600 604800 300,yes\r\n", ts, round, dom, dom, srv, addr, lat, dom, dom, dom, dom
                n += 6
            }
        }
    }
}

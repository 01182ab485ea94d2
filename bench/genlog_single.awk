# Generates an observations.csv where every group has a single row:
# `awk -v rounds=N -f genlog_single.awk`. 100 domains x 20 resolvers, mx
# only, no MX target rows, a round every 10 minutes: 2,000 rows a round,
# 2,000,000 for 1,000 rounds. Resolver s moves to the new MX at round 2*s.
# Beside genlog.awk (several rows per group), this is the shape where the
# per-group work of finishing a round weighs most per row.
BEGIN {
    printf "time_utc,vantage,round,domain,check,qname,qtype,server,address,transport,status,rcode,latency_ms,ttl,answer,expected,match\r\n"
    t0 = 1795996800
    if (rounds == "") rounds = 1000
    for (r = 1; r <= rounds; r++) {
        ts = strftime("%Y-%m-%d %H:%M:%S", t0 + (r - 1) * 600, 1)
        for (d = 1; d <= 100; d++) {
            dom = "domain" d ".example"
            newmx = "0 domain" d "-example.mail.protection.outlook.com."
            for (s = 1; s <= 20; s++) {
                conv = (r >= 2 * s)
                printf "%s,bench,%d,%s,mx,%s.,MX,resolver-%d,192.0.2.%d,udp,ok,NOERROR,%d,3600,%s,%s,%s\r\n", ts, r, dom, dom, s, s, (r * 7 + s * 13 + d) % 80 + 1, conv ? newmx : "10 mail." dom ".", newmx, conv ? "yes" : "no"
            }
        }
    }
}

# A stream of RIPE Atlas DNS results in JSON lines, the shape of a real
# measurement (fields as in the result format of RIPE-NCC/ripe-atlas-sagan's
# test data): 1,000 probes (prb_id 1000-1999), one result each every 15
# minutes, probe p at resolver 10.(p/250).(p%250).1; probe p answers with
# abuf `new` from round p / move on and with `old` before; every 50th result
# is a timeout. Used by bench/bench_import.sh and tests/cli/test_import_scale.sh.
# Usage: awk -v n=RESULTS -v old=ABUF -v new=ABUF -v move=DIVISOR -f atlas_stream.awk
BEGIN {
  t0 = 1795996800
  for (i = 0; i < n; i++) {
    p = i % 1000; r = int(i / 1000); t = t0 + r * 900 + p % 60
    dst = sprintf("10.%d.%d.1", int(p / 250), p % 250)
    if (i % 50 == 49)
      printf "{\"fw\":5080,\"lts\":12,\"msm_id\":4242,\"prb_id\":%d,\"timestamp\":%d,\"type\":\"dns\",\"from\":\"192.0.2.%d\",\"af\":4,\"proto\":\"UDP\",\"dst_addr\":\"%s\",\"error\":{\"timeout\":5000}}\n", 1000 + p, t, p % 250, dst
    else
      printf "{\"fw\":5080,\"lts\":12,\"msm_id\":4242,\"prb_id\":%d,\"timestamp\":%d,\"type\":\"dns\",\"from\":\"192.0.2.%d\",\"af\":4,\"proto\":\"UDP\",\"dst_addr\":\"%s\",\"result\":{\"ANCOUNT\":1,\"ARCOUNT\":0,\"ID\":4242,\"NSCOUNT\":0,\"QDCOUNT\":1,\"abuf\":\"%s\",\"rt\":%d.%03d,\"size\":60}}\n", 1000 + p, t, p % 250, dst, (r >= p / move) ? new : old, 5 + p % 90, p % 1000
  }
}

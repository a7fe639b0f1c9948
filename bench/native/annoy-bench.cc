// annoy-bench: the benchmark's builder and query server around real Annoy (C++).
//
// Compiled by bench/lib/native.ts against the Annoy header that
// tools/annoy-ref/setup.sh fetched (Debian's r-cran-rcppannoy), with the same
// flags as the reference driver's "native" build:
//   g++ -std=c++14 -O3 -march=native -ffast-math -fno-associative-math
// It exists (rather than the reference driver's `build` / `bench` subcommands,
// which it otherwise mirrors) so that C++ Annoy is measured exactly like the
// JavaScript libraries: build time in wall and CPU seconds with the build's
// peak RSS, and a query server that loads the index once, warms up, then
// answers a sweep of search_k values, timing whole passes over the query set,
// and reports its own peak RSS.
//
//   annoy-bench build METRIC F VECTORS.fbin N_TREES SEED OUT.ann [N_JOBS]
//     adds row r under id r, set_seed(SEED) (a 32-bit int, as Python's and the
//     reference driver's), build(N_TREES, N_JOBS) (timed; N_JOBS defaults to 1,
//     on the calling thread; more uses Annoy's multi-threaded build policy),
//     save(OUT).
//     Prints one JSON line: {"n_items":…,"n_trees":…,"add_seconds":…,
//     "build_seconds":…,"build_cpu_seconds":…,"save_seconds":…,"peak_rss_bytes":…}
//
//   annoy-bench serve METRIC F INDEX.ann QUERIES.fbin K WARMUP MIN_SECONDS MAX_PASSES
//     loads the index and prints one JSON line:
//       {"ready":true,"load_seconds":…,"n_items":…,"rss_before_load_bytes":…,"rss_after_load_bytes":…,"annoy_simd":"avx"}
//     then reads commands from stdin, one per line, and answers each with one JSON line:
//       warm SEARCH_K COUNT   untimed searches of the first COUNT queries      -> {"warmed":COUNT,"seconds":…}
//       run SEARCH_K          WARMUP untimed searches of the first queries, then timed
//                             passes over all queries until MIN_SECONDS of timed work
//                             or MAX_PASSES passes; ids of the first timed pass
//                             -> {"param":…,"passes":[seconds,…],"cpu":[process CPU seconds,…],"ids":[[…],…]}
//       quit                  -> {"peak_rss_bytes":…} and exit 0
//
// METRIC angular|euclidean|manhattan|dot; .fbin = uint32 n, uint32 d, n*d float32.
// Errors go to stderr with exit status 1 (2 for bad usage).

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <limits.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

static inline void annoy_bench_quiet(const char*, ...) {}
#define __ERROR_PRINTER_OVERRIDE__ annoy_bench_quiet

namespace Annoy {}
#include "annoylib.h"
#include "kissrandom.h"
using namespace Annoy;

typedef int32_t S;

static double cpu_seconds() {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

static long long current_rss_bytes() {
  FILE* fp = fopen("/proc/self/statm", "r");
  if (!fp) return -1;
  long long size = 0, resident = 0;
  int got = fscanf(fp, "%lld %lld", &size, &resident);
  fclose(fp);
  if (got != 2) return -1;
  return resident * (long long)sysconf(_SC_PAGESIZE);
}

// VmHWM (peak of this process image). getrusage's ru_maxrss survives exec on
// Linux, so it would start at the RSS of the Node.js parent that forked us.
static long long peak_rss_bytes() {
  FILE* fp = fopen("/proc/self/status", "r");
  if (fp) {
    char line[256];
    while (fgets(line, sizeof line, fp)) {
      long long kb = 0;
      if (sscanf(line, "VmHWM: %lld kB", &kb) == 1) {
        fclose(fp);
        return kb * 1024;
      }
    }
    fclose(fp);
  }
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
  return (long long)ru.ru_maxrss * 1024;  // Linux: kilobytes
}

static std::vector<float> read_fbin(const char* path, uint32_t& n, uint32_t& d) {
  FILE* fp = fopen(path, "rb");
  if (!fp) throw std::runtime_error(std::string("cannot open ") + path + ": " + strerror(errno));
  uint32_t header[2];
  if (fread(header, 4, 2, fp) != 2) {
    fclose(fp);
    throw std::runtime_error(std::string(path) + ": no .fbin header");
  }
  n = header[0];
  d = header[1];
  std::vector<float> data((size_t)n * d);
  size_t got = data.empty() ? 0 : fread(data.data(), 4, data.size(), fp);
  fclose(fp);
  if (got != data.size()) throw std::runtime_error(std::string(path) + ": truncated");
  return data;
}

template <class D, class Policy>
static int build(int f, const char* vectors_path, int n_trees, long long seed, const char* out, int n_jobs) {
  typedef AnnoyIndex<S, float, D, Kiss64Random, Policy> Index;
  uint32_t n = 0, d = 0;
  std::vector<float> rows = read_fbin(vectors_path, n, d);
  if ((int)d != f) throw std::runtime_error("vectors have dimension " + std::to_string(d) + ", expected " + std::to_string(f));
  Index index(f);
  double t0 = now_seconds();
  char* err = NULL;
  for (uint32_t r = 0; r < n; r++) {
    if (!index.add_item((S)r, &rows[(size_t)r * f], &err)) {
      std::string m = std::string("add_item failed") + (err ? std::string(": ") + err : std::string());
      free(err);
      throw std::runtime_error(m);
    }
  }
  double add_seconds = now_seconds() - t0;
  std::vector<float>().swap(rows);  // Annoy holds its own copy now
  // Python's set_seed takes a C int and hands it to the uint64 seed: -7 -> 2^64 - 7.
  index.set_seed((uint64_t)(int64_t)(int32_t)seed);
  double c0 = cpu_seconds();
  t0 = now_seconds();
  if (!index.build(n_trees, n_jobs, &err)) {
    std::string m = std::string("build failed") + (err ? std::string(": ") + err : std::string());
    free(err);
    throw std::runtime_error(m);
  }
  double build_seconds = now_seconds() - t0;
  double build_cpu = cpu_seconds() - c0;
  t0 = now_seconds();
  if (!index.save(out, false, &err)) {
    std::string m = std::string("cannot save ") + out + (err ? std::string(": ") + err : std::string());
    free(err);
    throw std::runtime_error(m);
  }
  double save_seconds = now_seconds() - t0;
  printf("{\"n_items\":%d,\"n_trees\":%d,\"add_seconds\":%.9g,\"build_seconds\":%.9g,\"build_cpu_seconds\":%.9g,"
         "\"save_seconds\":%.9g,\"peak_rss_bytes\":%lld}\n",
         (int)index.get_n_items(), (int)index.get_n_trees(), add_seconds, build_seconds, build_cpu, save_seconds, peak_rss_bytes());
  return 0;
}

template <class D>
static int serve(int f, const char* index_path, const char* queries_path, int k, int warmup, double min_seconds,
                 int max_passes) {
  typedef AnnoyIndex<S, float, D, Kiss64Random, AnnoyIndexSingleThreadedBuildPolicy> Index;
  uint32_t n = 0, d = 0;
  std::vector<float> queries = read_fbin(queries_path, n, d);
  if ((int)d != f) throw std::runtime_error("queries have dimension " + std::to_string(d) + ", expected " + std::to_string(f));
  if (n == 0) throw std::runtime_error("no queries");

  Index index(f);
  long long rss_before = current_rss_bytes();
  double t0 = now_seconds();
  char* err = NULL;
  if (!index.load(index_path, false, &err)) {
    std::string m = std::string("cannot load ") + index_path + (err ? std::string(": ") + err : std::string());
    free(err);
    throw std::runtime_error(m);
  }
  double load_seconds = now_seconds() - t0;
  const char* simd =
#if defined(USE_AVX512)
      "avx512";
#elif defined(USE_AVX)
      "avx";
#else
      "none";
#endif
  printf("{\"ready\":true,\"load_seconds\":%.9g,\"n_items\":%d,\"rss_before_load_bytes\":%lld,"
         "\"rss_after_load_bytes\":%lld,\"annoy_simd\":\"%s\"}\n",
         load_seconds, (int)index.get_n_items(), rss_before, current_rss_bytes(), simd);
  fflush(stdout);

  std::vector<std::vector<S> > first(n), scratch(n);
  for (uint32_t r = 0; r < n; r++) {
    first[r].reserve((size_t)k);
    scratch[r].reserve((size_t)k);
  }
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    if (cmd.empty()) continue;
    if (cmd == "quit") {
      printf("{\"peak_rss_bytes\":%lld}\n", peak_rss_bytes());
      fflush(stdout);
      return 0;
    }
    long long search_k = 0;
    if (!(in >> search_k)) throw std::runtime_error("bad command: " + line);
    if (cmd == "warm") {
      long long count = 0;
      if (!(in >> count)) throw std::runtime_error("bad command: " + line);
      if (count > (long long)n) count = n;
      double t = now_seconds();
      for (long long r = 0; r < count; r++) {
        scratch[r].clear();
        index.get_nns_by_vector(&queries[(size_t)r * f], (size_t)k, (int)search_k, &scratch[r], NULL);
      }
      printf("{\"warmed\":%lld,\"seconds\":%.9g}\n", count, now_seconds() - t);
      fflush(stdout);
      continue;
    }
    if (cmd != "run") throw std::runtime_error("unknown command: " + line);
    uint32_t w = (uint32_t)warmup < n ? (uint32_t)warmup : n;
    for (uint32_t r = 0; r < w; r++) {
      scratch[r].clear();
      index.get_nns_by_vector(&queries[(size_t)r * f], (size_t)k, (int)search_k, &scratch[r], NULL);
    }
    std::vector<double> passes, cpu;
    double total = 0;
    while ((int)passes.size() < max_passes && (passes.empty() || total < min_seconds)) {
      std::vector<std::vector<S> >& out = passes.empty() ? first : scratch;
      double c = cpu_seconds();
      double t = now_seconds();
      for (uint32_t r = 0; r < n; r++) {
        out[r].clear();
        index.get_nns_by_vector(&queries[(size_t)r * f], (size_t)k, (int)search_k, &out[r], NULL);
      }
      double s = now_seconds() - t;
      cpu.push_back(cpu_seconds() - c);
      passes.push_back(s);
      total += s;
    }
    std::string o;
    o.reserve((size_t)n * (size_t)k * 8 + 256);
    o += "{\"param\":" + std::to_string(search_k) + ",\"passes\":[";
    char buf[64];
    for (size_t i = 0; i < passes.size(); i++) {
      snprintf(buf, sizeof buf, i ? ",%.9g" : "%.9g", passes[i]);
      o += buf;
    }
    o += "],\"cpu\":[";
    for (size_t i = 0; i < cpu.size(); i++) {
      snprintf(buf, sizeof buf, i ? ",%.9g" : "%.9g", cpu[i]);
      o += buf;
    }
    o += "],\"ids\":[";
    for (uint32_t r = 0; r < n; r++) {
      o += r ? ",[" : "[";
      for (size_t c = 0; c < first[r].size(); c++) {
        if (c) o += ',';
        o += std::to_string(first[r][c]);
      }
      o += ']';
    }
    o += "]}\n";
    fputs(o.c_str(), stdout);
    fflush(stdout);
  }
  return 0;  // stdin closed
}

static const char* USAGE =
    "usage: annoy-bench build METRIC F VECTORS.fbin N_TREES SEED OUT.ann [N_JOBS]\n"
    "       annoy-bench serve METRIC F INDEX.ann QUERIES.fbin K WARMUP MIN_SECONDS MAX_PASSES\n";

template <class D>
static int dispatch(const std::string& cmd, int f, int argc, char** argv) {
  if (cmd == "build" && (argc == 6 || argc == 7)) {
    long long seed = strtoll(argv[4], NULL, 10);
    if (seed < INT32_MIN || seed > INT32_MAX) throw std::runtime_error("SEED must be a 32-bit integer");
    int n_jobs = argc == 7 ? atoi(argv[6]) : 1;
    if (n_jobs < 1) throw std::runtime_error("N_JOBS must be at least 1");
    if (n_jobs == 1) return build<D, AnnoyIndexSingleThreadedBuildPolicy>(f, argv[2], atoi(argv[3]), seed, argv[5], 1);
    return build<D, AnnoyIndexMultiThreadedBuildPolicy>(f, argv[2], atoi(argv[3]), seed, argv[5], n_jobs);
  }
  if (cmd == "serve" && argc == 8) {
    int k = atoi(argv[4]);
    int warmup = atoi(argv[5]);
    double min_seconds = atof(argv[6]);
    int max_passes = atoi(argv[7]);
    if (k < 1 || warmup < 0 || max_passes < 1) throw std::runtime_error("bad numeric argument");
    return serve<D>(f, argv[2], argv[3], k, warmup, min_seconds, max_passes);
  }
  fputs(USAGE, stderr);
  return 2;
}

int main(int argc, char** argv) {
  try {
    if (argc < 4) {
      fputs(USAGE, stderr);
      return 2;
    }
    std::string cmd = argv[1];
    std::string metric = argv[2];
    int f = atoi(argv[3]);
    if (f < 1) throw std::runtime_error("F must be a positive integer");
    // argv[1..] from the subcommand's point of view: metric is argv[0], f argv[1], …
    if (metric == "angular") return dispatch<Angular>(cmd, f, argc - 2, argv + 2);
    if (metric == "euclidean") return dispatch<Euclidean>(cmd, f, argc - 2, argv + 2);
    if (metric == "manhattan") return dispatch<Manhattan>(cmd, f, argc - 2, argv + 2);
    if (metric == "dot") return dispatch<DotProduct>(cmd, f, argc - 2, argv + 2);
    throw std::runtime_error("unknown metric " + metric);
  } catch (const std::exception& e) {
    fprintf(stderr, "annoy-bench: error: %s\n", e.what());
    return 1;
  }
}

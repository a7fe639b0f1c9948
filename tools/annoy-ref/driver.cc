// annoy-ref: the annoy-ts reference driver.
//
// A small command-line program of our own that answers questions with the real
// Annoy C++ header (annoylib.h + kissrandom.h from Debian's r-cran-rcppannoy
// package), so annoy-ts's tests and benchmarks can compare against real Annoy.
// The header is NOT part of this repository: tools/annoy-ref/setup.sh fetches
// it at run time into .cache/annoy-ref/ and compiles this file against it.
//
// It instantiates Annoy exactly like the Python module does: int32 ids, float
// values (uint64 words for hamming), Kiss64Random, single-threaded build.
//
// Usage (all output is JSON on stdout; errors go to stderr, exit status 1,
// bad usage exit status 2):
//   build    METRIC F VECTORS.fbin N_TREES SEED OUT.ann [IDS.ibin]
//   info     METRIC F INDEX.ann
//   vectors  METRIC F INDEX.ann OUT.fbin
//   query    METRIC F INDEX.ann QUERIES.fbin K SEARCH_K
//   items    METRIC F INDEX.ann K SEARCH_K FIRST COUNT
//   distance METRIC F INDEX.ann I J [I J ...]
//   bench    METRIC F INDEX.ann QUERIES.fbin K SEARCH_K [REPEAT]
//   about
// METRIC is angular|euclidean|manhattan|dot|hamming. For hamming, F counts
// bits and every vector is F floats (element j -> bit j%64 of word j/64, set
// iff > 0.5), as in Python's module; the C++ index has ceil(F/64) words.
// .fbin = uint32 n, uint32 d, n*d float32; .ibin = uint32 n, uint32 1, n int32
// (little-endian).

#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <limits.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

// Annoy's own error printing goes through showUpdate(); we report errors
// ourselves (from the char** error strings), so keep Annoy quiet.
static inline void annoy_ref_quiet(const char*, ...) {}
#define __ERROR_PRINTER_OVERRIDE__ annoy_ref_quiet

// Upstream Annoy >= 1.17.1 puts everything into namespace Annoy; the Debian
// copy (r-cran-rcppannoy 0.0.20) declares everything at global scope. Declaring
// the namespace up front and using it afterwards works with both.
namespace Annoy {}
#include "annoylib.h"
#include "kissrandom.h"
using namespace Annoy;

namespace annoyref {

typedef int32_t S;

struct Failure : std::runtime_error {
  explicit Failure(const std::string& m) : std::runtime_error(m) {}
};
struct UsageError : std::runtime_error {
  explicit UsageError(const std::string& m) : std::runtime_error(m) {}
};

static std::string annoy_error(const char* what, char* err) {
  std::string m(what);
  if (err) {
    m += ": ";
    m += err;
    free(err);
  }
  return m;
}

// ---------------------------------------------------------------- arguments

static long long parse_int(const char* s, const char* name, long long lo, long long hi) {
  errno = 0;
  char* end = NULL;
  long long v = strtoll(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
    throw UsageError(std::string(name) + " must be an integer in [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "], got '" + s + "'");
  return v;
}

// ---------------------------------------------------------------- files

static std::vector<unsigned char> read_file(const char* path) {
  FILE* fp = fopen(path, "rb");
  if (!fp) throw Failure(std::string("cannot open ") + path + ": " + strerror(errno));
  std::vector<unsigned char> buf;
  unsigned char chunk[1 << 16];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, fp)) > 0) buf.insert(buf.end(), chunk, chunk + got);
  bool bad = ferror(fp) != 0;
  fclose(fp);
  if (bad) throw Failure(std::string("cannot read ") + path);
  return buf;
}

static uint32_t le32(const unsigned char* p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

struct Matrix {
  uint32_t n = 0, d = 0;
  std::vector<float> data;  // row-major n*d
};

static Matrix read_fbin(const char* path) {
  std::vector<unsigned char> b = read_file(path);
  if (b.size() < 8) throw Failure(std::string(path) + ": too short for an .fbin header");
  Matrix m;
  m.n = le32(&b[0]);
  m.d = le32(&b[4]);
  uint64_t want = 8 + (uint64_t)m.n * m.d * 4;
  if (b.size() != want)
    throw Failure(std::string(path) + ": size " + std::to_string(b.size()) + " does not match header (n=" +
                  std::to_string(m.n) + ", d=" + std::to_string(m.d) + ", expected " + std::to_string(want) + ")");
  m.data.resize((size_t)m.n * m.d);
  if (!m.data.empty()) memcpy(m.data.data(), &b[8], m.data.size() * 4);  // little-endian host assumed
  return m;
}

static std::vector<int32_t> read_ibin(const char* path) {
  std::vector<unsigned char> b = read_file(path);
  if (b.size() < 8) throw Failure(std::string(path) + ": too short for an .ibin header");
  uint32_t n = le32(&b[0]), d = le32(&b[4]);
  if (d != 1) throw Failure(std::string(path) + ": .ibin must have d = 1, got " + std::to_string(d));
  if (b.size() != 8 + (uint64_t)n * 4) throw Failure(std::string(path) + ": size does not match header");
  std::vector<int32_t> ids(n);
  if (n) memcpy(ids.data(), &b[8], (size_t)n * 4);
  return ids;
}

static void write_fbin(const char* path, uint32_t n, uint32_t d, const std::vector<float>& data) {
  FILE* fp = fopen(path, "wb");
  if (!fp) throw Failure(std::string("cannot create ") + path + ": " + strerror(errno));
  uint32_t hdr[2] = {n, d};
  bool ok = fwrite(hdr, 4, 2, fp) == 2;
  if (ok && !data.empty()) ok = fwrite(data.data(), 4, data.size(), fp) == data.size();
  if (fclose(fp) != 0) ok = false;
  if (!ok) throw Failure(std::string("cannot write ") + path);
}

// ---------------------------------------------------------------- JSON out

struct Json {
  std::string s;
  Json& raw(const char* t) { s += t; return *this; }
  Json& raw(const std::string& t) { s += t; return *this; }
  Json& i64(long long v) { s += std::to_string(v); return *this; }
  Json& u64(unsigned long long v) { s += std::to_string(v); return *this; }
  Json& str(const std::string& t) {
    s += '"';
    for (char c : t) {
      if (c == '"' || c == '\\') { s += '\\'; s += c; }
      else if ((unsigned char)c < 0x20) { char b[8]; snprintf(b, sizeof b, "\\u%04x", c); s += b; }
      else s += c;
    }
    s += '"';
    return *this;
  }
  // Finite values with 9 significant digits (round-trips binary32). Non-finite
  // values are not JSON numbers: they are written as the strings "NaN",
  // "Infinity", "-Infinity". Classified on the bits, so that -ffast-math
  // (the native build) cannot fold the test away.
  Json& f32(float v) {
    uint32_t bits;
    memcpy(&bits, &v, 4);
    if ((bits & 0x7f800000u) == 0x7f800000u) {
      if (bits & 0x007fffffu) s += "\"NaN\"";
      else s += (bits & 0x80000000u) ? "\"-Infinity\"" : "\"Infinity\"";
      return *this;
    }
    char b[32];
    snprintf(b, sizeof b, "%.9g", (double)v);
    s += b;
    return *this;
  }
  Json& f64(double v) {
    char b[40];
    snprintf(b, sizeof b, "%.9g", v);
    s += b;
    return *this;
  }
  void print() {
    s += '\n';
    fwrite(s.data(), 1, s.size(), stdout);
    fflush(stdout);
  }
};

// ---------------------------------------------------------------- metrics

// How the caller's float vectors map to the index's value type.
struct FloatValues {
  typedef float T;
  static int words(int f) { return f; }
  static void pack(const float* src, int f, T* dst) { memcpy(dst, src, sizeof(float) * (size_t)f); }
  static void unpack(const T* src, int f, float* dst) { memcpy(dst, src, sizeof(float) * (size_t)f); }
  static void put(Json& j, T d) { j.f32(d); }
};

// Python's hamming packing: element j -> bit (j % 64) of word j / 64, set iff > 0.5.
struct BitValues {
  typedef uint64_t T;
  static int words(int f) { return (f + 63) / 64; }
  static void pack(const float* src, int f, T* dst) {
    int w = words(f);
    for (int i = 0; i < w; i++) dst[i] = 0;
    for (int j = 0; j < f; j++)
      if (src[j] > 0.5f) dst[j / 64] |= (uint64_t)1 << (j % 64);
  }
  static void unpack(const T* src, int f, float* dst) {
    for (int j = 0; j < f; j++) dst[j] = (float)((src[j / 64] >> (j % 64)) & 1u);
  }
  static void put(Json& j, T d) { j.u64((unsigned long long)d); }
};

// AnnoyIndex with a window onto its protected state, for the structural check.
template <class D, class T>
class RefIndex : public AnnoyIndex<S, T, D, Kiss64Random, AnnoyIndexSingleThreadedBuildPolicy> {
  typedef AnnoyIndex<S, T, D, Kiss64Random, AnnoyIndexSingleThreadedBuildPolicy> Base;

 public:
  typedef typename Base::Node Node;
  explicit RefIndex(int f) : Base(f) {}
  const std::vector<S>& roots() const { return this->_roots; }
  const Node* node(S i) const { return this->_get(i); }
  S leaf_capacity() const { return this->_K; }
  S node_count() const { return this->_n_nodes; }
  size_t node_size() const { return this->_s; }
};

static double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

template <class D, class V>
struct Runner {
  typedef typename V::T T;
  typedef RefIndex<D, T> Index;

  const char* metric;
  int f;       // caller's dimension (bits for hamming)
  int w;       // index dimension (words for hamming)
  Runner(const char* m, int f_) : metric(m), f(f_), w(V::words(f_)) {}

  void load(Index& idx, const char* path) {
    char* err = NULL;
    if (!idx.load(path, false, &err)) throw Failure(annoy_error((std::string("cannot load ") + path).c_str(), err));
  }

  void check_item(const Index& idx, long long i) {
    if (i < 0) throw Failure("Item index can not be negative (" + std::to_string(i) + ")");
    if (i >= idx.get_n_items())
      throw Failure("Item index larger than the largest item index (" + std::to_string(i) + " >= " +
                    std::to_string(idx.get_n_items()) + ")");
  }

  Matrix read_rows(const char* path) {
    Matrix m = read_fbin(path);
    if ((int)m.d != f)
      throw Failure(std::string(path) + ": rows have d = " + std::to_string(m.d) + " but F = " + std::to_string(f));
    return m;
  }

  void put_results(Json& j, const std::vector<std::vector<S> >& ids, const std::vector<std::vector<T> >& dists) {
    j.raw("\"results\":[");
    for (size_t r = 0; r < ids.size(); r++) {
      if (r) j.raw(",");
      j.raw("\n{\"ids\":[");
      for (size_t k = 0; k < ids[r].size(); k++) { if (k) j.raw(","); j.i64(ids[r][k]); }
      j.raw("],\"distances\":[");
      for (size_t k = 0; k < dists[r].size(); k++) { if (k) j.raw(","); V::put(j, dists[r][k]); }
      j.raw("]}");
    }
    j.raw("]");
  }

  // build METRIC F VECTORS.fbin N_TREES SEED OUT.ann [IDS.ibin]
  int build(int argc, char** argv) {
    if (argc != 4 && argc != 5) throw UsageError("build METRIC F VECTORS.fbin N_TREES SEED OUT.ann [IDS.ibin]");
    Matrix rows = read_rows(argv[0]);
    int n_trees = (int)parse_int(argv[1], "N_TREES", INT_MIN, INT_MAX);
    bool default_seed = strcmp(argv[2], "default") == 0;
    long long seed = default_seed ? 0 : parse_int(argv[2], "SEED (a 32-bit int, or 'default')", INT32_MIN, INT32_MAX);
    const char* out = argv[3];
    std::vector<int32_t> ids;
    if (argc == 5) {
      ids = read_ibin(argv[4]);
      if (ids.size() != rows.n)
        throw Failure(std::string(argv[4]) + ": " + std::to_string(ids.size()) + " ids for " + std::to_string(rows.n) +
                      " vectors");
    }
    Index idx(w);
    std::vector<T> buf((size_t)w + 1);
    for (uint32_t r = 0; r < rows.n; r++) {
      S id = ids.empty() ? (S)r : ids[r];
      if (id < 0) throw Failure("Item index can not be negative (row " + std::to_string(r) + ")");
      V::pack(&rows.data[(size_t)r * f], f, buf.data());
      char* err = NULL;
      if (!idx.add_item(id, buf.data(), &err)) throw Failure(annoy_error("add_item failed", err));
    }
    // Python's set_seed takes a C int and hands it to the uint64 seed: -7 -> 2^64 - 7.
    if (!default_seed) idx.set_seed((uint64_t)(int64_t)(int32_t)seed);
    char* err = NULL;
    std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
    if (!idx.build(n_trees, 1, &err)) throw Failure(annoy_error("build failed", err));
    double build_seconds = seconds_since(t0);
    err = NULL;
    if (!idx.save(out, false, &err)) throw Failure(annoy_error((std::string("cannot save ") + out).c_str(), err));
    Json j;
    j.raw("{\"n_items\":").i64(idx.get_n_items());
    j.raw(",\"n_trees\":").i64(idx.get_n_trees());
    j.raw(",\"build_seconds\":").f64(build_seconds);
    j.raw("}").print();
    return 0;
  }

  // info METRIC F INDEX.ann
  int info(int argc, char** argv) {
    if (argc != 1) throw UsageError("info METRIC F INDEX.ann");
    Index idx(w);
    load(idx, argv[0]);
    const S n_items = idx.get_n_items();
    const S n_nodes = idx.node_count();
    const S K = idx.leaf_capacity();
    const std::vector<S>& roots = idx.roots();

    // n_items comes from the last record; a file opened with the wrong F or
    // metric can claim more items than it has records: do not trust it.
    const bool sane = n_items >= 0 && n_items <= n_nodes;
    long long present = 0;
    std::vector<char> is_item(sane ? (size_t)n_items : 0, 0);
    for (S i = 0; sane && i < n_items; i++)
      if (idx.node(i)->n_descendants == 1) { is_item[(size_t)i] = 1; present++; }

    std::string problem = sane ? check_trees(idx, is_item, present)
                               : "n_items (" + std::to_string(n_items) + ") outside [0, n_nodes]";

    Json j;
    j.raw("{\"metric\":").str(metric);
    j.raw(",\"f\":").i64(f);
    j.raw(",\"node_size\":").u64(idx.node_size());
    j.raw(",\"K\":").i64(K);
    j.raw(",\"n_nodes\":").i64(n_nodes);
    j.raw(",\"n_items\":").i64(n_items);
    j.raw(",\"n_trees\":").i64(idx.get_n_trees());
    j.raw(",\"roots\":[");
    for (size_t r = 0; r < roots.size(); r++) { if (r) j.raw(","); j.i64(roots[r]); }
    j.raw("],\"items_present\":").i64(present);
    j.raw(",\"holes\":").i64(sane ? (long long)n_items - present : 0);
    j.raw(",\"trees_ok\":").raw(problem.empty() ? "true" : "false");
    j.raw(",\"problem\":");
    if (problem.empty()) j.raw("null"); else j.str(problem);
    j.raw("}").print();
    return 0;
  }

  // The k-th int32 slot from children[0] on (leaf lists run past children[1]).
  static S slot(const typename Index::Node* n, S k) {
    S v;
    memcpy(&v, reinterpret_cast<const unsigned char*>(n->children) + sizeof(S) * (size_t)k, sizeof(S));
    return v;
  }

  // Walks every root with Annoy's in-memory view, reading records the way
  // Annoy's search does, and checks that each tree reaches every present item
  // exactly once, never a hole, never an out-of-range record or id.
  // Returns "" when all trees are fine, else a description of the first problem.
  std::string check_trees(const Index& idx, const std::vector<char>& is_item, long long present) {
    const S n_items = idx.get_n_items();
    const S n_nodes = idx.node_count();
    const S K = idx.leaf_capacity();
    const std::vector<S>& roots = idx.roots();
    if (roots.empty()) return "no roots found";

    std::vector<uint32_t> seen((size_t)n_items, 0);      // per-tree item hit counts
    std::vector<uint32_t> visited((size_t)n_nodes, 0);   // tree stamp, catches cycles / shared nodes
    std::vector<S> stack;

    for (size_t t = 0; t < roots.size(); t++) {
      const S root = roots[t];
      std::string where = "tree " + std::to_string(t) + " (root " + std::to_string(root) + "): ";
      std::fill(seen.begin(), seen.end(), 0u);
      const uint32_t stamp = (uint32_t)t + 1;

      // Reports an item id met in a leaf list or as a child pointer.
      auto reach_item = [&](S id, const char* via) -> std::string {
        if (id < 0 || id >= n_items)
          return where + via + " lists id " + std::to_string(id) + " outside [0, n_items=" + std::to_string(n_items) + ")";
        if (!is_item[(size_t)id]) return where + via + " reaches hole " + std::to_string(id);
        seen[(size_t)id]++;
        return "";
      };

      stack.clear();
      if (root < 0 || root >= n_nodes) return where + "root record out of range";
      if (root < n_items) {
        // Only happens when a single item record is picked up by the root scan.
        std::string e = reach_item(root, "root");
        if (!e.empty()) return e;
      } else {
        const typename Index::Node* r = idx.node(root);
        // A root claims n_items descendants whatever its size. Annoy writes it as a
        // leaf (holding every present item, zero padding after them) when
        // n_items <= K or when only one item exists; otherwise it is a split.
        if (n_items <= K || present == 1) {
          const S slots = std::min<S>(r->n_descendants, K);
          if (slots < present) return where + "root leaf has room for fewer ids than there are items";
          for (S k = 0; k < slots; k++) {
            S id = slot(r, k);
            if (k < present) {
              std::string e = reach_item(id, "root leaf");
              if (!e.empty()) return e;
            } else if (id != 0) {
              return where + "root leaf padding slot " + std::to_string(k) + " holds " + std::to_string(id) +
                     " instead of 0";
            }
          }
        } else {
          visited[(size_t)root] = stamp;
          stack.push_back(r->children[0]);
          stack.push_back(r->children[1]);
        }
      }

      while (!stack.empty()) {
        S i = stack.back();
        stack.pop_back();
        if (i < 0 || i >= n_nodes) return where + "child pointer " + std::to_string(i) + " outside [0, n_nodes)";
        if (i < n_items) {
          std::string e = reach_item(i, "child pointer");
          if (!e.empty()) return e;
          continue;
        }
        if (visited[(size_t)i] == stamp) return where + "record " + std::to_string(i) + " reached twice";
        visited[(size_t)i] = stamp;
        const typename Index::Node* nd = idx.node(i);
        S c = nd->n_descendants;
        if (c < 0) return where + "record " + std::to_string(i) + " has negative n_descendants";
        if (c <= K) {
          for (S k = 0; k < c; k++) {
            std::string e = reach_item(slot(nd, k), ("leaf " + std::to_string(i)).c_str());
            if (!e.empty()) return e;
          }
        } else {
          stack.push_back(nd->children[0]);
          stack.push_back(nd->children[1]);
        }
      }

      for (S id = 0; id < n_items; id++) {
        if (is_item[(size_t)id] && seen[(size_t)id] != 1)
          return where + "item " + std::to_string(id) + " reached " + std::to_string(seen[(size_t)id]) + " times";
      }
    }
    return "";
  }

  // vectors METRIC F INDEX.ann OUT.fbin
  int vectors(int argc, char** argv) {
    if (argc != 2) throw UsageError("vectors METRIC F INDEX.ann OUT.fbin");
    Index idx(w);
    load(idx, argv[0]);
    S n = idx.get_n_items();
    if (n < 0) n = 0;
    std::vector<float> out((size_t)n * f);
    std::vector<T> buf((size_t)w + 1);
    for (S i = 0; i < n; i++) {
      idx.get_item(i, buf.data());
      V::unpack(buf.data(), f, &out[(size_t)i * f]);
    }
    write_fbin(argv[1], (uint32_t)n, (uint32_t)f, out);
    Json j;
    j.raw("{\"n\":").i64(n).raw(",\"d\":").i64(f).raw("}").print();
    return 0;
  }

  // query METRIC F INDEX.ann QUERIES.fbin K SEARCH_K
  int query(int argc, char** argv) {
    if (argc != 4) throw UsageError("query METRIC F INDEX.ann QUERIES.fbin K SEARCH_K");
    Index idx(w);
    load(idx, argv[0]);
    Matrix q = read_rows(argv[1]);
    int k = (int)parse_int(argv[2], "K", INT_MIN, INT_MAX);
    int search_k = (int)parse_int(argv[3], "SEARCH_K", INT_MIN, INT_MAX);
    std::vector<std::vector<S> > ids(q.n);
    std::vector<std::vector<T> > dists(q.n);
    std::vector<T> buf((size_t)w + 1);
    for (uint32_t r = 0; r < q.n; r++) {
      V::pack(&q.data[(size_t)r * f], f, buf.data());
      // Python passes its int n straight to the size_t parameter.
      idx.get_nns_by_vector(buf.data(), (size_t)k, search_k, &ids[r], &dists[r]);
    }
    Json j;
    j.raw("{");
    put_results(j, ids, dists);
    j.raw("}").print();
    return 0;
  }

  // items METRIC F INDEX.ann K SEARCH_K FIRST COUNT
  int items(int argc, char** argv) {
    if (argc != 5) throw UsageError("items METRIC F INDEX.ann K SEARCH_K FIRST COUNT");
    Index idx(w);
    load(idx, argv[0]);
    int k = (int)parse_int(argv[1], "K", INT_MIN, INT_MAX);
    int search_k = (int)parse_int(argv[2], "SEARCH_K", INT_MIN, INT_MAX);
    long long first = parse_int(argv[3], "FIRST", INT_MIN, INT_MAX);
    long long count = parse_int(argv[4], "COUNT", 0, INT_MAX);
    if (count > 0) { check_item(idx, first); check_item(idx, first + count - 1); }
    std::vector<std::vector<S> > ids((size_t)count);
    std::vector<std::vector<T> > dists((size_t)count);
    for (long long c = 0; c < count; c++)
      idx.get_nns_by_item((S)(first + c), (size_t)k, search_k, &ids[(size_t)c], &dists[(size_t)c]);
    Json j;
    j.raw("{\"items\":[");
    for (long long c = 0; c < count; c++) { if (c) j.raw(","); j.i64(first + c); }
    j.raw("],");
    put_results(j, ids, dists);
    j.raw("}").print();
    return 0;
  }

  // distance METRIC F INDEX.ann I J [I J ...]
  int distance(int argc, char** argv) {
    if (argc < 3 || (argc - 1) % 2 != 0) throw UsageError("distance METRIC F INDEX.ann I J [I J ...]");
    Index idx(w);
    load(idx, argv[0]);
    Json j;
    j.raw("{\"pairs\":[");
    for (int a = 1; a + 1 < argc; a += 2) {
      long long i = parse_int(argv[a], "I", INT_MIN, INT_MAX);
      long long jj = parse_int(argv[a + 1], "J", INT_MIN, INT_MAX);
      check_item(idx, i);
      check_item(idx, jj);
      T d = idx.get_distance((S)i, (S)jj);
      if (a > 1) j.raw(",");
      j.raw("[").i64(i).raw(",").i64(jj).raw(",");
      V::put(j, d);
      j.raw("]");
    }
    j.raw("]}").print();
    return 0;
  }

  // bench METRIC F INDEX.ann QUERIES.fbin K SEARCH_K [REPEAT]
  int bench(int argc, char** argv) {
    if (argc != 4 && argc != 5) throw UsageError("bench METRIC F INDEX.ann QUERIES.fbin K SEARCH_K [REPEAT]");
    Matrix q = read_rows(argv[1]);
    int k = (int)parse_int(argv[2], "K", INT_MIN, INT_MAX);
    int search_k = (int)parse_int(argv[3], "SEARCH_K", INT_MIN, INT_MAX);
    int repeat = argc == 5 ? (int)parse_int(argv[4], "REPEAT", 1, INT_MAX) : 1;

    std::vector<T> packed((size_t)q.n * w + 1);
    for (uint32_t r = 0; r < q.n; r++) V::pack(&q.data[(size_t)r * f], f, &packed[(size_t)r * w]);

    Index idx(w);
    std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
    load(idx, argv[0]);
    double load_seconds = seconds_since(t0);

    std::vector<std::vector<S> > ids(q.n);
    for (uint32_t r = 0; r < q.n; r++) ids[r].reserve(k > 0 ? (size_t)k : 0);
    t0 = std::chrono::steady_clock::now();
    for (int rep = 0; rep < repeat; rep++) {
      for (uint32_t r = 0; r < q.n; r++) {
        ids[r].clear();
        idx.get_nns_by_vector(&packed[(size_t)r * w], (size_t)k, search_k, &ids[r], NULL);
      }
    }
    double secs = seconds_since(t0);
    double total = (double)q.n * repeat;

    Json j;
    j.raw("{\"load_seconds\":").f64(load_seconds);
    j.raw(",\"queries\":").i64(q.n);
    j.raw(",\"repeat\":").i64(repeat);
    j.raw(",\"seconds\":").f64(secs);
    j.raw(",\"qps\":").f64(secs > 0 ? total / secs : 0.0);
    j.raw(",\"results\":[");
    for (uint32_t r = 0; r < q.n; r++) {
      if (r) j.raw(",");
      j.raw("\n[");
      for (size_t c = 0; c < ids[r].size(); c++) { if (c) j.raw(","); j.i64(ids[r][c]); }
      j.raw("]");
    }
    j.raw("]}").print();
    return 0;
  }

  int run(const std::string& cmd, int argc, char** argv) {
    if (cmd == "build") return build(argc, argv);
    if (cmd == "info") return info(argc, argv);
    if (cmd == "vectors") return vectors(argc, argv);
    if (cmd == "query") return query(argc, argv);
    if (cmd == "items") return items(argc, argv);
    if (cmd == "distance") return distance(argc, argv);
    if (cmd == "bench") return bench(argc, argv);
    throw UsageError("unknown subcommand '" + cmd + "'");
  }
};

static int about() {
  Json j;
  j.raw("{\"driver\":\"annoy-ref\"");
  j.raw(",\"cxx\":").str(__VERSION__);
#ifdef __OPTIMIZE__
  j.raw(",\"optimize\":true");
#else
  j.raw(",\"optimize\":false");
#endif
#ifdef __FAST_MATH__
  j.raw(",\"fast_math\":true");
#else
  j.raw(",\"fast_math\":false");
#endif
#if defined(USE_AVX512)
  j.raw(",\"annoy_simd\":\"avx512\"");
#elif defined(USE_AVX)
  j.raw(",\"annoy_simd\":\"avx\"");
#else
  j.raw(",\"annoy_simd\":\"none\"");
#endif
#ifdef __FMA__
  j.raw(",\"fma\":true");
#else
  j.raw(",\"fma\":false");
#endif
  j.raw(",\"ids\":\"int32\",\"values\":\"float32\",\"hamming_words\":\"uint64\",\"random\":\"Kiss64Random\"");
  // As a string: 1234567890987654321 does not survive a JSON parser that uses doubles.
  j.raw(",\"default_seed\":").str(std::to_string((unsigned long long)Kiss64Random::default_seed));
  j.raw(",\"node_size_f16\":{");
  j.raw("\"angular\":").u64(RefIndex<Angular, float>(16).node_size());
  j.raw(",\"euclidean\":").u64(RefIndex<Euclidean, float>(16).node_size());
  j.raw(",\"manhattan\":").u64(RefIndex<Manhattan, float>(16).node_size());
  j.raw(",\"dot\":").u64(RefIndex<DotProduct, float>(16).node_size());
  j.raw(",\"hamming_f100\":").u64(RefIndex<Hamming, uint64_t>(2).node_size());
  j.raw("}}").print();
  return 0;
}

static const char* USAGE =
    "usage: driver SUBCOMMAND ...\n"
    "  build    METRIC F VECTORS.fbin N_TREES SEED OUT.ann [IDS.ibin]\n"
    "  info     METRIC F INDEX.ann\n"
    "  vectors  METRIC F INDEX.ann OUT.fbin\n"
    "  query    METRIC F INDEX.ann QUERIES.fbin K SEARCH_K\n"
    "  items    METRIC F INDEX.ann K SEARCH_K FIRST COUNT\n"
    "  distance METRIC F INDEX.ann I J [I J ...]\n"
    "  bench    METRIC F INDEX.ann QUERIES.fbin K SEARCH_K [REPEAT]\n"
    "  about\n"
    "METRIC: angular|euclidean|manhattan|dot|hamming (hamming: F counts bits)\n"
    "SEED: a 32-bit signed integer (as Python's set_seed) or 'default'\n";

static int dispatch(int argc, char** argv) {
  if (argc >= 2 && strcmp(argv[1], "about") == 0) return about();
  if (argc < 4) throw UsageError("missing arguments");
  std::string cmd = argv[1];
  std::string metric = argv[2];
  int f = (int)parse_int(argv[3], "F", 1, 1 << 24);
  int rest = argc - 4;
  char** rv = argv + 4;
  if (metric == "angular") return Runner<Angular, FloatValues>("angular", f).run(cmd, rest, rv);
  if (metric == "euclidean") return Runner<Euclidean, FloatValues>("euclidean", f).run(cmd, rest, rv);
  if (metric == "manhattan") return Runner<Manhattan, FloatValues>("manhattan", f).run(cmd, rest, rv);
  if (metric == "dot") return Runner<DotProduct, FloatValues>("dot", f).run(cmd, rest, rv);
  if (metric == "hamming") return Runner<Hamming, BitValues>("hamming", f).run(cmd, rest, rv);
  throw UsageError("unknown metric '" + metric + "' (angular|euclidean|manhattan|dot|hamming)");
}

}  // namespace annoyref

int main(int argc, char** argv) {
  try {
    return annoyref::dispatch(argc, argv);
  } catch (const annoyref::UsageError& e) {
    fprintf(stderr, "annoy-ref: %s\n%s", e.what(), annoyref::USAGE);
    return 2;
  } catch (const std::exception& e) {
    fprintf(stderr, "annoy-ref: error: %s\n", e.what());
    return 1;
  }
}

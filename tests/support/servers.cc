#include "tests/support/servers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace switchboard::testing {
namespace {

namespace fs = std::filesystem;

void Fail(const std::string& what) { throw std::runtime_error(what); }

bool IsRoot() { return geteuid() == 0; }

struct passwd* Nobody() {
  return getpwnam("nobody");
}

void ChownToNobody(const std::string& path) {
  if (!IsRoot()) return;
  struct passwd* pw = Nobody();
  if (pw == nullptr) Fail("no user 'nobody' to run servers as");
  for (auto& entry : fs::recursive_directory_iterator(path)) {
    if (lchown(entry.path().c_str(), pw->pw_uid, pw->pw_gid) != 0) Fail("chown failed");
  }
  if (chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) Fail("chown failed");
}

std::string PgBin(const std::string& tool) {
  for (const char* dir :
       {"/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"}) {
    std::string path = absl::StrCat(dir, "/", tool);
    if (access(path.c_str(), X_OK) == 0) return path;
  }
  return tool;  // hope it is on PATH
}

bool PgReady(int port) {
  std::string conninfo = absl::StrCat("host=127.0.0.1 port=", port,
                                      " user=postgres dbname=postgres connect_timeout=1");
  return PQping(conninfo.c_str()) == PQPING_OK;
}

// initdb is the slow part of starting PostgreSQL; do it once per machine and copy the result.
std::string PgTemplate() {
  std::string version;
  Run(absl::StrCat(PgBin("postgres"), " --version"), &version);
  std::string tag = std::to_string(std::hash<std::string>{}(version));
  std::string path = absl::StrCat("/tmp/switchboard-pg-template-", tag, "-", geteuid());
  if (fs::exists(path + "/PG_VERSION")) return path;
  std::string staging = TempDir("switchboard-pg-initdb");
  ChownToNobody(staging);
  std::string data = staging + "/data";
  Process initdb;
  initdb.Start({PgBin("initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                "--locale=C.UTF-8", "--no-sync", "--no-instructions"},
               staging + "/initdb.log", /*as_nobody=*/true);
  int status = initdb.Wait(absl::Seconds(120));
  if (status != 0) Fail("initdb failed, see " + staging + "/initdb.log");
  // Another test binary may have won the race; either copy is fine.
  std::error_code ec;
  fs::rename(data, path, ec);
  fs::remove_all(staging, ec);
  if (!fs::exists(path + "/PG_VERSION")) Fail("postgres template missing at " + path);
  return path;
}

}  // namespace

int FreePort() {
  // Below Linux's ephemeral range (32768-60999): a port the kernel handed out for a free bind
  // is also one it hands to outgoing connections (a PostgreSQL client's, say), which can take it
  // before the server that asked for it listens. Random ports under that range, checked free,
  // meet neither; the kernel's choice remains the fallback.
  static std::atomic<uint64_t> draws{static_cast<uint64_t>(getpid()) * 2654435761u ^
                                     static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()))};
  auto bindable = [](int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    close(fd);
    return ok ? ntohs(addr.sin_port) : 0;
  };
  for (int attempt = 0; attempt < 64; ++attempt) {
    const uint64_t x = draws.fetch_add(0x9E3779B97F4A7C15ull) * 0xBF58476D1CE4E5B9ull;
    const int port = 20000 + static_cast<int>((x >> 33) % 12768);  // 20000-32767
    if (bindable(port) == port) return port;
  }
  const int port = bindable(0);
  if (port == 0) Fail("bind failed");
  return port;
}

bool Eventually(const std::function<bool()>& condition, absl::Duration timeout,
                absl::Duration interval) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (condition()) return true;
    if (absl::Now() > deadline) return false;
    absl::SleepFor(interval);
  }
}

std::optional<double> MetricSample(const std::string& text, const std::string& name,
                                   const std::map<std::string, std::string>& labels) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::ConsumePrefix(&line, name)) continue;
    if (absl::StartsWith(line, " ") && labels.empty()) {  // a sample without labels
      double value;
      if (absl::SimpleAtod(absl::StripAsciiWhitespace(line), &value)) return value;
      continue;
    }
    if (!absl::StartsWith(line, "{")) continue;
    size_t close = line.rfind('}');
    if (close == absl::string_view::npos) continue;
    absl::string_view label_text = line.substr(0, close + 1);
    bool match = true;
    for (const auto& [k, v] : labels) {
      std::string pair = absl::StrCat(k, "=\"", v, "\"");
      match = match && (absl::StrContains(label_text, absl::StrCat("{", pair)) ||
                        absl::StrContains(label_text, absl::StrCat(",", pair)));
    }
    if (!match) continue;
    std::vector<absl::string_view> rest =
        absl::StrSplit(absl::StripAsciiWhitespace(line.substr(close + 1)), ' ');
    double value;
    if (!rest.empty() && absl::SimpleAtod(rest[0], &value)) return value;
  }
  return std::nullopt;
}

int Run(const std::string& command, std::string* output) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) {
    if (output) output->append(buf, n);
  }
  int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string SendRaw(int port, const std::string& bytes) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    Fail("SendRaw: connect failed");
  }
  if (write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) {
    close(fd);
    Fail("SendRaw: short write");
  }
  shutdown(fd, SHUT_WR);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

std::string TempDir(const std::string& prefix) {
  std::string templ = absl::StrCat("/tmp/", prefix, "-XXXXXX");
  if (mkdtemp(templ.data()) == nullptr) Fail("mkdtemp failed");
  chmod(templ.c_str(), 0755);
  return templ;
}

Process::~Process() {
  if (pid_ > 0) {
    Signal(SIGKILL);
    Wait(absl::Seconds(5));
  }
}

void Process::Start(const std::vector<std::string>& argv, const std::string& log_path,
                    bool as_nobody) {
  struct passwd* pw = (as_nobody && IsRoot()) ? Nobody() : nullptr;
  if (as_nobody && IsRoot() && pw == nullptr) Fail("no user 'nobody'");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) Fail("fork failed");
  if (pid == 0) {
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
    }
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    setpgid(0, 0);  // our own group: a test's Ctrl-C does not hit the server first
    if (pw != nullptr && (setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)) _exit(126);
    execvp(args[0], args.data());
    _exit(127);
  }
  pid_ = pid;
}

void Process::Signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

int Process::Wait(absl::Duration timeout) {
  if (pid_ <= 0) return 0;
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (absl::Now() > deadline) return -1;
    absl::SleepFor(absl::Milliseconds(5));
  }
}

RedisServer::RedisServer() : dir_(TempDir("switchboard-redis")) {
  port_ = FreePort();
  Launch();
}

RedisServer::~RedisServer() {
  process_.Signal(SIGKILL);
  process_.Wait();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void RedisServer::Launch() {
  for (int attempt = 0; attempt < 3; ++attempt) {
    process_.Start({"redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--protected-mode", "no", "--dir", dir_},
                   dir_ + "/redis.log");
    bool up = Eventually(
        [&] {
          std::string out;
          Run(absl::StrCat("redis-cli -p ", port_, " ping"), &out);
          return out.find("PONG") != std::string::npos;
        },
        absl::Seconds(10), absl::Milliseconds(20));
    if (up) return;
    process_.Signal(SIGKILL);
    process_.Wait();
    port_ = FreePort();
  }
  Fail("redis-server did not start, see " + dir_ + "/redis.log");
}

void RedisServer::Kill() {
  process_.Signal(SIGKILL);
  process_.Wait();
}

void RedisServer::Restart() {
  Kill();
  Launch();
}

std::string RedisServer::url() const { return absl::StrCat("redis://127.0.0.1:", port_, "/0"); }

PostgresServer::PostgresServer() : dir_(TempDir("switchboard-pg")) {
  std::string data = dir_ + "/data";
  if (Run(absl::StrCat("cp -a ", PgTemplate(), " ", data)) != 0) Fail("copy template failed");
  ChownToNobody(dir_);
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = FreePort();
    if (Launch()) return;
  }
  Fail("postgres did not start, see " + dir_ + "/postgres.log");
}

bool PostgresServer::Launch() {
  process_.Start(
      {PgBin("postgres"), "-D", dir_ + "/data", "-p", std::to_string(port_), "-k", dir_, "-c",
       "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c",
       "full_page_writes=off", "-c", "max_connections=300", "-c", "shared_buffers=64MB"},
      dir_ + "/postgres.log", /*as_nobody=*/true);
  if (Eventually([&] { return PgReady(port_); }, absl::Seconds(30), absl::Milliseconds(20))) {
    return true;
  }
  process_.Signal(SIGKILL);
  process_.Wait();
  return false;
}

void PostgresServer::Restart() {
  process_.Signal(SIGINT);  // fast shutdown: sessions end, what was committed is kept
  if (process_.Wait(absl::Seconds(30)) == -1) Fail("postgres did not stop for a restart");
  if (!Launch()) Fail("postgres did not start again, see " + dir_ + "/postgres.log");
}

PostgresServer::~PostgresServer() {
  process_.Signal(SIGQUIT);  // immediate shutdown: the data is thrown away anyway
  process_.Wait();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

PostgresServer& PostgresServer::Shared() {
  static PostgresServer* server = [] {
    auto* s = new PostgresServer();
    std::atexit([] { delete &Shared(); });
    return s;
  }();
  return *server;
}

std::string PostgresServer::AdminUrl() const {
  return absl::StrCat("postgresql://postgres@127.0.0.1:", port_, "/postgres");
}

std::string PostgresServer::CreateDatabase() {
  static std::atomic<int> counter{0};
  std::string name = absl::StrCat("test_", getpid(), "_", counter.fetch_add(1));
  PGconn* conn = PQconnectdb(AdminUrl().c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string err = PQerrorMessage(conn);
    PQfinish(conn);
    Fail("connect to test postgres: " + err);
  }
  PGresult* res = PQexec(conn, ("CREATE DATABASE " + name).c_str());
  bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
  std::string err = PQerrorMessage(conn);
  PQclear(res);
  PQfinish(conn);
  if (!ok) Fail("create database: " + err);
  return absl::StrCat("postgresql://postgres@127.0.0.1:", port_, "/", name);
}

}  // namespace switchboard::testing

#include "tests/integration/test_network.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <filesystem>
#include <regex>
#include <string>

extern char** environ;

namespace flopwise::testing {

std::string IpProgram() {
  for (const char* path : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (access(path, X_OK) == 0) return path;
  }
  return "";
}

int RunProgram(const std::vector<std::string>& argv, std::string* output) {
  output->clear();
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  std::array<char, 4096> buffer;
  for (ssize_t n; (n = read(fds[0], buffer.data(), buffer.size())) > 0;) {
    output->append(buffer.data(), static_cast<size_t>(n));
  }
  close(fds[0]);
  if (spawned != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

std::string TestNetwork::Unavailable() {
  if (geteuid() != 0) return "needs root (ip netns, veth pairs)";
  const std::string ip = IpProgram();
  if (ip.empty()) return "no ip(8) program (iproute2; scripts/install-deps.sh installs it)";
  const std::string probe = "flopwise-probe-" + std::to_string(getpid());
  std::string output;
  if (RunProgram({ip, "netns", "add", probe}, &output) != 0) {
    return "ip netns add is refused here: " + output;
  }
  RunProgram({ip, "netns", "delete", probe}, &output);
  return "";
}

namespace {

// The process id in a name this file gives (a namespace flopwise-ID-hK or
// flopwise-probe-ID, a link fwIDb, fwIDhK or fwIDnK), or 0 for another name.
pid_t OwnerId(const std::string& name, const std::regex& pattern) {
  std::smatch match;
  if (!std::regex_match(name, match, pattern)) return 0;
  const std::string id = match[1].matched ? match[1].str() : match[2].str();
  return static_cast<pid_t>(std::stol(id));
}

const std::regex kOurNamespace("flopwise-([0-9]{1,9})-h[0-9]+|flopwise-probe-([0-9]{1,9})");
const std::regex kOurLink("fw([0-9]{1,9})(?:b|[hn][0-9]+)");

bool ProcessGone(pid_t pid) { return pid > 0 && kill(pid, 0) != 0 && errno == ESRCH; }

// The names in a folder (none when it is missing).
std::vector<std::string> Entries(const std::string& folder) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
    names.push_back(entry.path().filename().string());
  }
  return names;
}

}  // namespace

void TestNetwork::RemoveLeftovers() {
  const std::string ip = IpProgram();
  std::string output;
  for (const std::string& ns : Entries("/run/netns")) {
    if (ProcessGone(OwnerId(ns, kOurNamespace))) RunProgram({ip, "netns", "delete", ns}, &output);
  }
  for (const std::string& link : Entries("/sys/class/net")) {
    if (ProcessGone(OwnerId(link, kOurLink))) RunProgram({ip, "link", "delete", link}, &output);
  }
}

TestNetwork::TestNetwork(int hosts) {
  RemoveLeftovers();
  const std::string id = std::to_string(getpid());
  subnet_ = 20 + static_cast<int>(getpid() % 200);
  // Interface names have at most 15 characters: "fw" + pid + "b" / "h0".
  bridge_ = "fw" + id + "b";
  if (!Ip({"link", "add", bridge_, "type", "bridge"})) {
    bridge_.clear();
    return;
  }
  if (!Ip({"addr", "add", Address(1) + "/24", "dev", bridge_}) ||
      !Ip({"link", "set", bridge_, "up"})) {
    return;
  }
  for (int host = 0; host < hosts; ++host) {
    const std::string ns = "flopwise-" + id + "-h" + std::to_string(host);
    const std::string outer = "fw" + id + "h" + std::to_string(host);
    const std::string inner = "fw" + id + "n" + std::to_string(host);
    if (!Ip({"netns", "add", ns})) return;
    namespaces_.push_back(ns);
    if (!Ip({"link", "add", outer, "type", "veth", "peer", "name", inner})) return;
    bridge_ports_.push_back(outer);
    if (!Ip({"link", "set", inner, "netns", ns}) ||
        !Ip({"link", "set", outer, "master", bridge_}) || !Ip({"link", "set", outer, "up"}) ||
        !Ip({"-n", ns, "addr", "add", host_address(host) + "/24", "dev", inner}) ||
        !Ip({"-n", ns, "link", "set", inner, "up"}) || !Ip({"-n", ns, "link", "set", "lo", "up"})) {
      return;
    }
  }
}

TestNetwork::~TestNetwork() {
  const std::string ip = IpProgram();
  std::string output;
  // Deleting a namespace deletes the veth end inside it, and with it the pair.
  for (const std::string& ns : namespaces_) RunProgram({ip, "netns", "delete", ns}, &output);
  for (const std::string& port : bridge_ports_) {
    RunProgram({ip, "link", "delete", port}, &output);  // fails when already gone
  }
  if (!bridge_.empty()) RunProgram({ip, "link", "delete", bridge_}, &output);
}

bool TestNetwork::SetLinkUp(int host, bool up) {
  return Ip({"link", "set", bridge_ports_.at(host), up ? "up" : "down"});
}

std::string TestNetwork::Address(int last_byte) const {
  return "10.77." + std::to_string(subnet_) + "." + std::to_string(last_byte);
}

bool TestNetwork::Ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {IpProgram()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string output;
  if (RunProgram(argv, &output) == 0) return true;
  std::string command;
  for (const std::string& arg : argv) command += (command.empty() ? "" : " ") + arg;
  error_ = command + ": " + output;
  return false;
}

}  // namespace flopwise::testing

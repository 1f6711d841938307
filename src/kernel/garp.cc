#include "kernel/garp.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <queue>
#include <thread>

#include "kernel/netns.h"
#include "kernel/unique_fd.h"

namespace dvr::kernel {

std::string garpFrame(const Mac& mac, Ipv4 ip) {
  std::string f;
  auto bytes = [&f](const auto& b) { f.append(reinterpret_cast<const char*>(b.data()), b.size()); };
  auto u16 = [&f](uint16_t v) {
    f.push_back(char(v >> 8));
    f.push_back(char(v & 0xff));
  };
  auto ipv4 = [&f](Ipv4 a) {
    for (int shift = 24; shift >= 0; shift -= 8)
      f.push_back(char((a.value() >> shift) & 0xff));
  };
  bytes(kBroadcastMac.bytes());
  bytes(mac.bytes());
  u16(ETHERTYPE_ARP);
  u16(ARPHRD_ETHER);
  u16(ETHERTYPE_IP);
  f.push_back(6);  // hardware address length
  f.push_back(4);  // protocol address length
  u16(ARPOP_REQUEST);
  bytes(mac.bytes());
  ipv4(ip);
  bytes(Mac().bytes());  // target MAC: unknown, as in any request
  ipv4(ip);
  return f;
}

namespace {

struct Repeat {
  std::chrono::steady_clock::time_point at;
  std::shared_ptr<UniqueFd> socket;
  sockaddr_ll to;
  std::string frame;
  int left;
  bool operator>(const Repeat& o) const { return at > o.at; }
};

void send(const Repeat& r) {
  ::sendto(r.socket->get(), r.frame.data(), r.frame.size(), 0,
           reinterpret_cast<const sockaddr*>(&r.to), sizeof r.to);
}

// One thread for every pending repeat, made on first use and never stopped (a process
// that exits drops the repeats it still had, as arping killed would).
class Repeater {
 public:
  static Repeater& instance() {
    static Repeater* r = new Repeater;  // never destroyed: its thread outlives statics
    return *r;
  }
  void schedule(Repeat r) {
    {
      std::lock_guard lock(mu_);
      queue_.push(std::move(r));
    }
    wake_.notify_one();
  }

 private:
  Repeater() {
    std::thread([this] { run(); }).detach();
  }
  void run() {
    std::unique_lock lock(mu_);
    for (;;) {
      if (queue_.empty()) {
        wake_.wait(lock);
        continue;
      }
      auto at = queue_.top().at;
      if (std::chrono::steady_clock::now() < at) {
        wake_.wait_until(lock, at);
        continue;
      }
      Repeat r = queue_.top();
      queue_.pop();
      lock.unlock();
      send(r);
      if (--r.left > 0) {
        r.at += kGarpInterval;
        lock.lock();
        queue_.push(std::move(r));
        continue;
      }
      lock.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable wake_;
  std::priority_queue<Repeat, std::vector<Repeat>, std::greater<>> queue_;
};

}  // namespace

void garpAnnounce(int netns_fd, const std::string& dev, Ipv4 ip, const std::string& where) {
  std::string what = "arping -U " + ip.str() + " dev " + dev + " (" + where + ")";
  Repeat r{};
  {
    // A packet socket belongs to the namespace it was made in; the device is looked up
    // there too.
    ScopedNetns in(netns_fd);
    r.socket = std::make_shared<UniqueFd>(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
    checkErrno(r.socket->get() >= 0, what + ": socket");
    ifreq req{};
    if (dev.size() >= sizeof req.ifr_name)
      throw KernelError(what, ENODEV);
    std::memcpy(req.ifr_name, dev.c_str(), dev.size() + 1);
    checkErrno(::ioctl(r.socket->get(), SIOCGIFINDEX, &req) == 0, what);
    r.to.sll_ifindex = req.ifr_ifindex;
    checkErrno(::ioctl(r.socket->get(), SIOCGIFHWADDR, &req) == 0, what);
    uint64_t mac = 0;
    for (int i = 0; i < 6; ++i)
      mac = mac << 8 | uint8_t(req.ifr_hwaddr.sa_data[i]);
    r.frame = garpFrame(Mac(mac), ip);
  }
  r.to.sll_family = AF_PACKET;
  r.to.sll_protocol = htons(ETH_P_ARP);
  r.to.sll_halen = 6;
  std::memset(r.to.sll_addr, 0xff, 6);
  checkErrno(::sendto(r.socket->get(), r.frame.data(), r.frame.size(), 0,
                      reinterpret_cast<const sockaddr*>(&r.to), sizeof r.to) >= 0,
             what);
  r.left = kGarpCount - 1;
  r.at = std::chrono::steady_clock::now() + kGarpInterval;
  if (r.left > 0)
    Repeater::instance().schedule(std::move(r));
}

}  // namespace dvr::kernel

// A netlink socket for Node.js: open (optionally inside another network
// namespace), send a buffer holding one or many netlink messages, and hand
// every datagram the kernel sends back to JavaScript, read in bulk with
// recvmmsg whenever libuv says the socket is readable. Nothing here knows
// about generic netlink or IPVS; framing, matching replies to requests and
// timeouts live in TypeScript (src/netlink/connection.ts). One helper
// besides: open a file from inside another network namespace (openInNetns),
// for the per-namespace files of /proc that no socket reaches.
//
// The socket is non-blocking and polled by libuv on the main thread, so the
// event loop never waits and no thread-pool thread is parked on a receive.
//
// Replies land either in a fresh Buffer per read (the default) or, once JS
// hands over a receive buffer (useReceiveBuffer), straight in that buffer,
// with only their length passed to the callback: a long listing then makes
// no garbage here at all. JS must decode or copy the bytes before the
// callback returns; the next read overwrites them.

#include <napi.h>
#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

namespace {

// The kernel never builds a netlink datagram larger than 32 KiB for a dump
// (net/netlink/af_netlink.c caps max_recvmsg_len there), and single replies
// are smaller, so one slot of this size always holds a whole datagram.
constexpr size_t kSlotSize = 32768;
constexpr unsigned kSlots = 16;
// Bounds of the work done per readable event, so one busy socket cannot
// stall the event loop: datagrams read, read rounds, and bytes that JS sends
// from inside the callbacks (the kernel runs every sent message right away,
// inside sendto, so sent bytes stand for kernel time).
// Every datagram read of a dump makes the kernel build the next one inside
// that read, so bytes read stand for kernel time too: a large dump is read
// a bounded slice per wake (the socket stays readable until it ends).
constexpr unsigned kMaxPerWake = 4096;
constexpr unsigned kMaxRounds = 32;
constexpr size_t kReadBudget = 256 * 1024;
constexpr size_t kSendBudget = 32 * 1024;
constexpr size_t kMaxSend = 16 * 1024 * 1024;

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall) {
  Napi::Error e = Napi::Error::New(env, std::string(syscall) + ": " + strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

struct OpenResult {
  int fd = -1;
  int err = 0;
  const char* syscall = "";
};

void SetBuffer(int fd, int force_opt, int opt, int bytes) {
  // The *FORCE variants need CAP_NET_ADMIN and ignore the sysctl maximum;
  // fall back to the plain option (capped by net.core.*mem_max).
  if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof bytes) != 0)
    setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes);
}

OpenResult OpenHere(int protocol, int rcvbuf, int sndbuf) {
  OpenResult r;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) {
    r.err = errno;
    r.syscall = "socket";
    return r;
  }
  int one = 1;
  // Extended acks carry the kernel's error text; capped acks leave the
  // request out of error replies so they stay small.
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  if (rcvbuf > 0) SetBuffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, rcvbuf);
  if (sndbuf > 0) SetBuffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, sndbuf);
  struct sockaddr_nl addr;
  memset(&addr, 0, sizeof addr);
  addr.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) != 0) {
    r.err = errno;
    r.syscall = "bind";
    close(fd);
    return r;
  }
  r.fd = fd;
  return r;
}

// Moves the calling thread into the network namespace at `path`; on failure
// records errno and the failing call in `r` and returns false.
bool EnterNamespace(const std::string& path, OpenResult& r) {
  int ns = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (ns < 0) {
    r.err = errno;
    r.syscall = "open";
    return false;
  }
  if (setns(ns, CLONE_NEWNET) != 0) {
    r.err = errno;
    r.syscall = "setns";
    close(ns);
    return false;
  }
  close(ns);
  return true;
}

// setns() changes the namespace of the calling thread only. Doing it on a
// short-lived thread keeps the main thread where it is whatever happens; the
// socket keeps the namespace it was created in.
OpenResult OpenInNamespace(const std::string& path, int protocol, int rcvbuf, int sndbuf) {
  OpenResult r;
  std::thread t([&]() {
    if (EnterNamespace(path, r)) r = OpenHere(protocol, rcvbuf, sndbuf);
  });
  t.join();
  return r;
}

// openInNetns(netnsPath, path, forWriting): opens a file from inside
// another network namespace and returns the fd. Files under /proc/net and
// /proc/sys/net show the namespace of whoever opens them (through
// /proc/thread-self for the former) and keep it once open, so the caller
// can read or write the fd from any thread. Same short-lived thread as the
// socket: the main thread never changes namespace. Knows nothing of what
// the file holds.
Napi::Value OpenInNetns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 3 || !info[0].IsString() || !info[1].IsString() || !info[2].IsBoolean()) {
    Napi::TypeError::New(env, "openInNetns(netnsPath, path, forWriting)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string ns_path = info[0].As<Napi::String>().Utf8Value();
  std::string path = info[1].As<Napi::String>().Utf8Value();
  for (const std::string* p : {&ns_path, &path}) {
    if (p->empty() || p->size() > 4096 || p->find('\0') != std::string::npos) {
      Napi::TypeError::New(env, "bad path").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  int flags = (info[2].As<Napi::Boolean>().Value() ? O_WRONLY : O_RDONLY) | O_CLOEXEC;
  OpenResult r;
  bool entered = false;  // tells which open failed: the namespace's or the file's
  std::thread t([&]() {
    if (!EnterNamespace(ns_path, r)) return;
    entered = true;
    r.fd = open(path.c_str(), flags);
    if (r.fd < 0) {
      r.err = errno;
      r.syscall = "open";
    }
  });
  t.join();
  if (r.fd < 0) {
    Napi::Error e = ErrnoError(env, r.err, r.syscall);
    e.Set("path", Napi::String::New(env, entered ? path : ns_path));
    e.ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, r.fd);
}

class NetlinkSocket : public Napi::ObjectWrap<NetlinkSocket> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "NetlinkSocket",
                       {
                           InstanceMethod("send", &NetlinkSocket::Send),
                           InstanceMethod("ref", &NetlinkSocket::Ref),
                           InstanceMethod("unref", &NetlinkSocket::Unref),
                           InstanceMethod("close", &NetlinkSocket::Close),
                           InstanceMethod("useReceiveBuffer", &NetlinkSocket::UseReceiveBuffer),
                           InstanceAccessor("portId", &NetlinkSocket::PortId, nullptr),
                           InstanceAccessor("receiveBufferSize", &NetlinkSocket::ReceiveBufferSize, nullptr),
                       });
  }

  // new NetlinkSocket(protocol, netnsPath | null, rcvbuf, sndbuf, onData)
  // onData(error | null, datagrams: Buffer | number | null): datagrams are
  // concatenated, each padded to 4 bytes so netlink framing can be walked
  // across them; a number is their length in the receive buffer JS gave.
  explicit NetlinkSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NetlinkSocket>(info) {
    Napi::Env env = info.Env();
    if (info.Length() != 5 || !info[0].IsNumber() || !(info[1].IsString() || info[1].IsNull()) ||
        !info[2].IsNumber() || !info[3].IsNumber() || !info[4].IsFunction()) {
      Napi::TypeError::New(env, "NetlinkSocket(protocol, netns|null, rcvbuf, sndbuf, onData)")
          .ThrowAsJavaScriptException();
      return;
    }
    int protocol = info[0].As<Napi::Number>().Int32Value();
    int rcvbuf = info[2].As<Napi::Number>().Int32Value();
    int sndbuf = info[3].As<Napi::Number>().Int32Value();
    if (protocol < 0 || protocol > 31 || rcvbuf < 0 || sndbuf < 0) {
      Napi::RangeError::New(env, "protocol, rcvbuf or sndbuf out of range").ThrowAsJavaScriptException();
      return;
    }
    OpenResult r;
    if (info[1].IsString()) {
      std::string path = info[1].As<Napi::String>().Utf8Value();
      if (path.empty() || path.size() > 4096 || path.find('\0') != std::string::npos) {
        Napi::TypeError::New(env, "bad namespace path").ThrowAsJavaScriptException();
        return;
      }
      r = OpenInNamespace(path, protocol, rcvbuf, sndbuf);
    } else {
      r = OpenHere(protocol, rcvbuf, sndbuf);
    }
    if (r.fd < 0) {
      ErrnoError(env, r.err, r.syscall).ThrowAsJavaScriptException();
      return;
    }
    struct sockaddr_nl addr;
    socklen_t len = sizeof addr;
    if (getsockname(r.fd, reinterpret_cast<struct sockaddr*>(&addr), &len) != 0) {
      int err = errno;
      close(r.fd);
      ErrnoError(env, err, "getsockname").ThrowAsJavaScriptException();
      return;
    }
    port_id_ = addr.nl_pid;

    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      close(r.fd);
      Napi::Error::New(env, "no event loop").ThrowAsJavaScriptException();
      return;
    }
    poll_ = new uv_poll_t;
    if (uv_poll_init(loop, poll_, r.fd) != 0) {
      close(r.fd);
      delete poll_;
      poll_ = nullptr;
      Napi::Error::New(env, "uv_poll_init failed").ThrowAsJavaScriptException();
      return;
    }
    fd_ = r.fd;
    poll_->data = this;
    uv_poll_start(poll_, UV_READABLE, OnReadable);
    // Idle sockets do not keep the process alive; JS refs while it waits.
    uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    on_data_ = Napi::Persistent(info[4].As<Napi::Function>());
    context_ = new Napi::AsyncContext(env, "ipvs:netlink");

    slots_.resize(static_cast<size_t>(kSlots) * kSlotSize);
    iov_.resize(kSlots);
    msgs_.resize(kSlots);
    PointSlotsAt(slots_.data());
  }

  ~NetlinkSocket() override { Shutdown(); }

 private:
  void PointSlotsAt(uint8_t* base) {
    base_ = base;
    for (unsigned i = 0; i < kSlots; i++) {
      iov_[i].iov_base = base + static_cast<size_t>(i) * kSlotSize;
      iov_[i].iov_len = kSlotSize;
    }
  }

  // useReceiveBuffer(buf: Uint8Array of at least kSlots * kSlotSize bytes).
  // Its memory never moves (ArrayBuffer backing stores do not), and the
  // reference held here keeps it alive as long as the socket.
  Napi::Value UseReceiveBuffer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const size_t need = static_cast<size_t>(kSlots) * kSlotSize;
    if (info.Length() != 1 || !info[0].IsTypedArray() ||
        info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
        info[0].As<Napi::Uint8Array>().ByteLength() < need) {
      Napi::TypeError::New(env, "useReceiveBuffer(buffer: Uint8Array of at least " + std::to_string(need) + " bytes)")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (in_drain_) {
      Napi::Error::New(env, "useReceiveBuffer: not from inside the data callback").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Uint8Array buf = info[0].As<Napi::Uint8Array>();
    recv_ref_ = Napi::Persistent(buf);
    PointSlotsAt(buf.Data());
    shared_ = true;
    std::vector<uint8_t>().swap(slots_);
    return Napi::Number::New(env, static_cast<double>(need));
  }

  static void OnReadable(uv_poll_t* handle, int status, int events) {
    auto* self = static_cast<NetlinkSocket*>(handle->data);
    if (self == nullptr || self->fd_ < 0) return;
    (void)events;
    self->Drain(status);
  }

  // Reads what is waiting and hands it to JS one recvmmsg round at a time.
  // When JS sends from inside the callback (the next request of a chain,
  // such as the next destination dump), the kernel has usually queued the
  // answer before sendto returned, so read again at once instead of going
  // back to the event loop; a short read with nothing sent means drained.
  void Drain(int status) {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (status < 0) {
      Deliver(env, ErrnoError(env, -status, "poll").Value(), env.Null());
      return;
    }
    unsigned total = 0;
    size_t read = 0;
    sent_in_drain_ = 0;
    in_drain_ = true;
    struct Leave {
      bool& flag;
      ~Leave() { flag = false; }
    } leave{in_drain_};
    for (unsigned round = 0; fd_ >= 0 && round < kMaxRounds && total < kMaxPerWake && read < kReadBudget; round++) {
      for (unsigned i = 0; i < kSlots; i++) {
        memset(&msgs_[i], 0, sizeof msgs_[i]);
        msgs_[i].msg_hdr.msg_iov = &iov_[i];
        msgs_[i].msg_hdr.msg_iovlen = 1;
      }
      int n;
      do {
        n = recvmmsg(fd_, msgs_.data(), kSlots, MSG_DONTWAIT, nullptr);
      } while (n < 0 && errno == EINTR);
      if (n < 0) {
        int err = errno;
        if (err != EAGAIN && err != EWOULDBLOCK) Deliver(env, ErrnoError(env, err, "recvmmsg").Value(), env.Null());
        return;
      }
      if (n == 0) return;
      total += static_cast<unsigned>(n);
      size_t bytes = 0;
      bool truncated = false;
      for (int i = 0; i < n; i++) {
        if (msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) {
          truncated = true;
          continue;
        }
        bytes += (static_cast<size_t>(msgs_[i].msg_len) + 3) & ~static_cast<size_t>(3);
      }
      bool sent = false;
      read += bytes;
      if (bytes > 0) {
        // Datagrams concatenated, each padded to 4 bytes, in place (slot
        // i moves down to `at` <= its own offset, so memmove is safe).
        size_t at = 0;
        for (int i = 0; i < n; i++) {
          if (msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) continue;
          size_t len = msgs_[i].msg_len;
          size_t padded = (len + 3) & ~static_cast<size_t>(3);
          memmove(base_ + at, iov_[i].iov_base, len);
          memset(base_ + at + len, 0, padded - len);
          at += padded;
        }
        Napi::Value data;
        if (shared_) {
          data = Napi::Number::New(env, static_cast<double>(bytes));
        } else {
          Napi::Buffer<uint8_t> buf = Napi::Buffer<uint8_t>::Copy(env, base_, bytes);
          if (env.IsExceptionPending() || buf.IsEmpty()) {
            // Out of memory: report it like an exception from the callback.
            napi_fatal_exception(env, env.GetAndClearPendingException().Value());
            return;
          }
          data = buf;
        }
        size_t before = sent_in_drain_;
        if (!Deliver(env, env.Null(), data)) return;
        sent = sent_in_drain_ != before;
      }
      if (truncated && !Deliver(env, ErrnoError(env, EMSGSIZE, "recvmmsg").Value(), env.Null())) return;
      if (sent_in_drain_ >= kSendBudget) return;
      if (static_cast<unsigned>(n) < kSlots && !sent) return;
    }
  }

  // Returns false when the socket was closed from inside the callback.
  bool Deliver(Napi::Env env, Napi::Value error, Napi::Value data) {
    if (on_data_.IsEmpty() || context_ == nullptr) return false;
    Napi::Object recv = Value();
    on_data_.MakeCallback(recv, {error, data}, *context_);
    if (env.IsExceptionPending()) {
      Napi::Error e = env.GetAndClearPendingException();
      napi_fatal_exception(env, e.Value());
    }
    return fd_ >= 0;
  }

  // send(buffer: Uint8Array, length?: number): sends the first `length`
  // bytes (all of them by default), so JS can send from a reusable buffer
  // without making a view of it per send.
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) {
      ErrnoError(env, EBADF, "sendto").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (info.Length() < 1 || info.Length() > 2 || !info[0].IsTypedArray() ||
        info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
        (info.Length() == 2 && !info[1].IsNumber())) {
      Napi::TypeError::New(env, "send(buffer: Uint8Array, length?: number)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Uint8Array data = info[0].As<Napi::Uint8Array>();
    size_t len = data.ByteLength();
    if (info.Length() == 2) {
      double want = info[1].As<Napi::Number>().DoubleValue();
      // (NaN fails every comparison: refused here too)
      if (!(want >= 0 && want <= static_cast<double>(len)) || want != static_cast<double>(static_cast<size_t>(want))) {
        Napi::RangeError::New(env, "send: length must be a whole number of bytes within the buffer")
            .ThrowAsJavaScriptException();
        return env.Undefined();
      }
      len = static_cast<size_t>(want);
    }
    if (len < NLMSG_HDRLEN || len > kMaxSend) {
      Napi::RangeError::New(env, "netlink buffer must hold 16 bytes to 16 MiB")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    struct sockaddr_nl to;
    memset(&to, 0, sizeof to);
    to.nl_family = AF_NETLINK;
    ssize_t n;
    do {
      n = sendto(fd_, data.Data(), len, MSG_DONTWAIT, reinterpret_cast<struct sockaddr*>(&to), sizeof to);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      ErrnoError(env, errno, "sendto").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    sent_in_drain_ += static_cast<size_t>(n);
    return Napi::Number::New(env, static_cast<double>(n));
  }

  Napi::Value Ref(const Napi::CallbackInfo& info) {
    if (poll_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }

  Napi::Value Unref(const Napi::CallbackInfo& info) {
    if (poll_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shutdown();
    return info.Env().Undefined();
  }

  Napi::Value PortId(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), port_id_);
  }

  // SO_RCVBUF as the kernel granted it (JS sizes its window of requests in
  // flight by it, so error replies cannot overrun the buffer).
  Napi::Value ReceiveBufferSize(const Napi::CallbackInfo& info) {
    int v = 0;
    socklen_t len = sizeof v;
    if (fd_ < 0 || getsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &v, &len) != 0) return Napi::Number::New(info.Env(), 0);
    return Napi::Number::New(info.Env(), v);
  }

  void Shutdown() {
    if (poll_ != nullptr) {
      uv_poll_stop(poll_);
      poll_->data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(poll_),
               [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
    }
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
    if (!on_data_.IsEmpty()) on_data_.Reset();
    if (!recv_ref_.IsEmpty()) recv_ref_.Reset();
    delete context_;
    context_ = nullptr;
  }

  int fd_ = -1;
  uint32_t port_id_ = 0;
  uv_poll_t* poll_ = nullptr;
  Napi::FunctionReference on_data_;
  Napi::AsyncContext* context_ = nullptr;
  std::vector<uint8_t> slots_;
  // Where reads land: slots_, or the JS receive buffer (shared_).
  uint8_t* base_ = nullptr;
  bool shared_ = false;
  bool in_drain_ = false;
  Napi::Reference<Napi::Uint8Array> recv_ref_;
  std::vector<struct iovec> iov_;
  std::vector<struct mmsghdr> msgs_;
  // Bytes sent since the current Drain began (see kSendBudget).
  size_t sent_in_drain_ = 0;
};

Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  exports.Set("NetlinkSocket", NetlinkSocket::Init(env));
  exports.Set("openInNetns", Napi::Function::New(env, OpenInNetns, "openInNetns"));
  return exports;
}

}  // namespace

NODE_API_MODULE(ipvs_netlink, InitModule)

#include "server/agent_credential.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <fstream>
#include <sstream>

namespace dvr::server {
namespace {

std::optional<std::string> slurp(const std::string& path, std::string& why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = "cannot read " + path;
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::optional<std::string> readAgentSecret(const std::string& path, std::string& why) {
  auto text = slurp(path, why);
  if (!text)
    return std::nullopt;
  while (!text->empty() && (text->back() == '\n' || text->back() == '\r'))
    text->pop_back();
  if (text->size() < 16) {
    why = path + " holds " + std::to_string(text->size()) +
          " bytes; an agent secret needs at least 16 (e.g. head -c 32 /dev/urandom | base64)";
    return std::nullopt;
  }
  return text;
}

std::string agentKey(const std::string& secret, const std::string& host) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), int(secret.size()),
       reinterpret_cast<const unsigned char*>(host.data()), host.size(), mac, &len);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 15];
  }
  return out;
}

bool agentKeyMatches(const std::string& secret, const std::string& host, const std::string& key) {
  std::string want = agentKey(secret, host);
  return key.size() == want.size() && CRYPTO_memcmp(key.data(), want.data(), want.size()) == 0;
}

std::optional<std::string> readAgentKey(const std::string& path, std::string& why) {
  auto text = slurp(path, why);
  if (!text)
    return std::nullopt;
  size_t b = text->find_first_not_of(" \t\r\n");
  size_t e = text->find_last_not_of(" \t\r\n");
  std::string key = b == std::string::npos ? "" : text->substr(b, e - b + 1);
  if (key.empty()) {
    why = path + " is empty";
    return std::nullopt;
  }
  return key;
}

}  // namespace dvr::server

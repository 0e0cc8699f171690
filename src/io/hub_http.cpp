// The hub's libcurl handles; see include/vit/io/hub_http.h.
#include "vit/io/hub_http.h"

#include <algorithm>
#include <cstdlib>

#include "vit/errors.h"
#include "vit/io/hub_download.h"
#include "vit/io/hub_paths.h"
#include "vit/io/text.h"

namespace vit {

namespace hub_http {

Easy make_easy() {
  // curl_global_init is not thread-safe in older libcurls: once, before the first handle.
  static const CURLcode init = curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL* h = init == CURLE_OK ? curl_easy_init() : nullptr;
  if (!h) throw ModelError("cannot start libcurl (curl_global_init / curl_easy_init failed)");
  return Easy(h, curl_easy_cleanup);
}

namespace {

std::string url_part(const std::string& url, CURLUPart part, unsigned flags = 0) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), curl_url_cleanup);
  char* value = nullptr;
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK ||
      curl_url_get(u.get(), part, &value, flags) != CURLUE_OK)
    return "";
  const std::string v = value;
  curl_free(value);
  return ascii_lower(v);
}

}  // namespace

bool is_http(const std::string& url) {
  const std::string scheme = url_part(url, CURLUPART_SCHEME);
  return scheme == "http" || scheme == "https";
}

Headers common_options(CURL* h, const std::string& url, const std::string& token, const std::string& token_origin,
                       long stall, char* errors) {
  static const std::string agent = std::string("vit-classify; libcurl/") + curl_version_info(CURLVERSION_NOW)->version;
  curl_slist* list = curl_slist_append(nullptr, "Accept-Encoding: identity");  // sizes are the file's own
  const bool with_token = !token.empty() && !token_origin.empty() && hub_origin(url) == token_origin;
  if (with_token) list = curl_slist_append(list, ("Authorization: Bearer " + token).c_str());
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(h, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(h, CURLOPT_USERAGENT, agent.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, std::min(stall, 10L));
  // A server that stops sending, or trickles, cannot hold us: under kMinimumRate for `stall` seconds.
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, kMinimumRate);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, stall);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errors);
  errors[0] = '\0';
  return Headers(list, curl_slist_free_all);
}

void follow_redirects(CURL* h, bool with_token) {
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, LIBCURL_VERSION_NUM >= 0x075300 || !with_token ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
}

std::string header(CURL* h, const char* name) {
  curl_header* out = nullptr;
  if (curl_easy_header(h, name, 0, CURLH_HEADER, -1, &out) != CURLHE_OK || !out) return "";
  return out->value;
}

std::string curl_problem(CURLcode rc, const char* errors, const std::string& url) {
  return excerpt(errors[0] ? errors : curl_easy_strerror(rc)) + " (" + excerpt(url) + ")";
}

[[noreturn]] void throw_http_error(long status, std::string error_code, const std::string& url, bool had_token) {
  error_code = excerpt(error_code, 64);
  const std::string at = "HTTP " + std::to_string(status) + " from " + excerpt(url) + ": ";
  if (status == 401 || status == 403) {
    throw ModelError(at +
                     (had_token ? "the token given (HF_TOKEN or the token file) may not read this repository; "
                                  "if it is gated, ask for access on its page"
                                : "the repository is gated or private (or does not exist); set HF_TOKEN to "
                                  "an access token or log in with `huggingface-cli login`") +
                     (error_code.empty() ? "" : " [" + error_code + "]"));
  }
  if (status == 404 && error_code == "RepoNotFound")
    throw ModelError(at + "no such repository on the hub (check the id's spelling)");
  if (status == 404 && error_code == "RevisionNotFound")
    throw ModelError(at + "no such revision (branch, tag or commit) in the repository");
  if (status == 404) throw ModelError(at + "no such file");
  throw ModelError(at + "the server refused the request" + (error_code.empty() ? "" : " [" + error_code + "]"));
}

std::string quote(const std::string& s) {
  char* q = curl_escape(s.c_str(), static_cast<int>(s.size()));
  std::string r = q ? q : s;
  curl_free(q);
  return r;
}

}  // namespace hub_http

std::string hub_origin(const std::string& url) {
  const std::string scheme = hub_http::url_part(url, CURLUPART_SCHEME), host = hub_http::url_part(url, CURLUPART_HOST);
  const std::string port = hub_http::url_part(url, CURLUPART_PORT, CURLU_DEFAULT_PORT);
  return scheme.empty() || host.empty() || port.empty() ? "" : scheme + "://" + host + ":" + port;
}

}  // namespace vit

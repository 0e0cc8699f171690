// One libcurl handle as every request to a hub is made (for src/io/hub*.cpp only: it needs
// curl.h): http and https only, redirects too; the token to the endpoint's origin only; a
// minimum transfer rate; and the hub's HTTP errors as messages that say what to do.
#pragma once

#include <curl/curl.h>

#include <memory>
#include <string>

namespace vit::hub_http {

using Easy = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using Headers = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

// The slowest transfer kept: under this many bytes a second for the stall seconds, it is
// abandoned (a body trickling at 2 bytes/s with a length of 10^12 would otherwise never end).
constexpr long kMinimumRate = 1024;

Easy make_easy();

// Options every request shares. The token goes as "Authorization: Bearer" only when url's
// origin is token_origin (hub_origin of the endpoint's URL: scheme, host and port); libcurl
// (7.83 on) drops a custom Authorization header itself when it follows a redirect to another
// host, port or scheme. A transfer under kMinimumRate for `stall` seconds is abandoned; the
// connect timeout is the smaller of `stall` and 10. `errors` is CURL_ERROR_SIZE bytes.
Headers common_options(CURL* h, const std::string& url, const std::string& token, const std::string& token_origin,
                       long stall, char* errors);

// Lets curl follow redirects (5 at most), unless a token could go along with a libcurl too old
// to drop it on another origin.
void follow_redirects(CURL* h, bool with_token);

// A response header's value; "" when absent.
std::string header(CURL* h, const char* name);

// curl's error text (shortened) and the URL.
std::string curl_problem(CURLcode rc, const char* errors, const std::string& url);

// The scheme of url is http or https.
bool is_http(const std::string& url);

// 401/403 (how to give a token), 404 (RepoNotFound, RevisionNotFound, else no such file) and
// other statuses, naming the URL; the server's error code is shortened.
[[noreturn]] void throw_http_error(long status, std::string error_code, const std::string& url, bool had_token);

// URL-quoted, as urllib.parse.quote(s, safe="").
std::string quote(const std::string& s);

}  // namespace vit::hub_http

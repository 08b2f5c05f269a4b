#include "delivery/mail_client.hpp"

#include <algorithm>
#include <utility>

#include "delivery/detail/curl_handles.hpp"
#include "delivery/detail/mail_headers.hpp"

namespace sl::delivery {

namespace {

using namespace detail;

void check(CURLcode rc) {
  if (rc != CURLE_OK) throw std::runtime_error(std::string("curl_mime: ") + curl_easy_strerror(rc));
}

// libcurl's quoted-printable encoder only breaks lines at CRLF; a bare LF
// would become "=0A" inside one long soft-wrapped line.
std::string with_crlf(const std::string& text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (std::size_t i = 0; i < text.size(); ++i) {
    char ch = text[i];
    if (ch == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
    out += ch;
    if (ch == '\r' && (i + 1 == text.size() || text[i + 1] != '\n')) out += '\n';
  }
  return out;
}

void add_text_part(curl_mime* mime, const std::string& text, const char* type) {
  curl_mimepart* part = curl_mime_addpart(mime);
  if (!part) throw std::bad_alloc();
  std::string body = with_crlf(text);
  check(curl_mime_data(part, body.data(), body.size()));  // copies
  check(curl_mime_type(part, type));
  // Quoted-printable keeps lines under SMTP's 998-byte limit and 8-bit text
  // safe on 7-bit servers; libcurl also dot-stuffs the body for DATA.
  check(curl_mime_encoder(part, "quoted-printable"));
}

}  // namespace

mail_outcome send_mail(const smtp_settings& s, const mail& m) {
  auto from = envelope_address(m.from);
  auto to = envelope_address(m.to);
  if (!from) return {false, "invalid from address"};
  if (!to) return {false, "invalid to address"};

  // Declared before the easy handle so that they outlive it: libcurl keeps
  // pointers to them until curl_easy_cleanup.
  slist headers;
  slist recipients;
  mime_handle body;
  easy_handle h = make_easy();
  CURL* c = h.get();

  // libcurl writes these as the message's top-level headers, before its own
  // MIME-Version and Content-Type.
  append(headers, "Date: " + rfc5322_date(std::chrono::system_clock::now()));
  append(headers, "Message-ID: " + message_id(*from));
  append(headers, "From: " + m.from);
  append(headers, "To: " + m.to);
  append(headers, "Subject: " + encode_subject(m.subject));
  append(recipients, "<" + *to + ">");

  body.reset(curl_mime_init(c));
  if (!body) throw std::bad_alloc();
  add_text_part(body.get(), m.text, "text/plain; charset=utf-8");
  if (!m.html.empty()) {
    // libcurl types its top-level multipart from this header (adding the
    // boundary); without it the message would be multipart/mixed.
    append(headers, "Content-Type: multipart/alternative");
    add_text_part(body.get(), m.html, "text/html; charset=utf-8");
  }

  char message[CURL_ERROR_SIZE] = {};
  long timeout_ms = std::max<long>(1, static_cast<long>(s.timeout.count()));
  set(c, CURLOPT_ERRORBUFFER, message);
  set(c, CURLOPT_URL, s.url.c_str());
  set(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  set(c, CURLOPT_NOSIGNAL, 1L);
  set(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  set(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  if (!s.username.empty()) {
    set(c, CURLOPT_USERNAME, s.username.c_str());
    set(c, CURLOPT_PASSWORD, s.password.c_str());
  }
  if (s.starttls) set(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  set(c, CURLOPT_MAIL_FROM, ("<" + *from + ">").c_str());
  set(c, CURLOPT_MAIL_RCPT, recipients.get());
  set(c, CURLOPT_HTTPHEADER, headers.get());
  set(c, CURLOPT_MIMEPOST, body.get());

  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK) return {true, {}};
  if (rc == CURLE_OPERATION_TIMEDOUT) return {false, "timeout"};
  long reply = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply);
  std::string error = message[0] ? message : curl_easy_strerror(rc);
  if (reply != 0) error += " (SMTP " + std::to_string(reply) + ")";
  return {false, std::move(error)};
}

}  // namespace sl::delivery

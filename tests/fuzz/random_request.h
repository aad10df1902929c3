// Random requests for any RPC, built with protobuf reflection: every field the message has,
// out-of-range enums, extreme numbers and times, long, control-character and multi-byte
// strings, deep and long repeats. Hostile on purpose, but not blind: a field whose name says
// what it holds (a business number, a contact, an id the server handed out, a field mask) gets
// a plausible value about half the time, so requests get past the first check and reach the
// code behind it.
//
//   RandomRequests gen(seed);
//   gen.hints().numbers = {"1065550001"};
//   std::unique_ptr<Message> req = gen.Make(method->input_type());
//   ... send; gen.Learn(response);   // ids it answered with become candidates
#pragma once

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace switchboard::fuzzing {

struct Hints {
  // The caller's own business numbers, and numbers that are someone else's.
  std::vector<std::string> numbers;
  std::vector<std::string> foreign_numbers;
  // Ids seen in responses, by field name ("call_id", "note_id", "callback_id", "wa_id", ...).
  std::map<std::string, std::vector<std::string>> ids;
};

class RandomRequests {
 public:
  explicit RandomRequests(uint64_t seed);

  Hints& hints() { return hints_; }

  // A new message of `type`, randomly filled.
  std::unique_ptr<google::protobuf::Message> Make(const google::protobuf::Descriptor* type);

  // Remembers the ids in `response` (string fields named *_id), for later requests.
  void Learn(const google::protobuf::Message& response);

  // A random string of one of the hostile kinds (also used for ids nobody handed out).
  std::string HostileString();

  std::mt19937_64& rng() { return rng_; }

 private:
  void Fill(google::protobuf::Message& m, int depth);
  void SetField(google::protobuf::Message& m, const google::protobuf::FieldDescriptor* f,
                int depth);
  void AddField(google::protobuf::Message& m, const google::protobuf::FieldDescriptor* f,
                int depth);
  void FillWellKnown(google::protobuf::Message& m, const google::protobuf::Message& parent);
  std::string StringFor(const google::protobuf::FieldDescriptor* f);
  int64_t Int(int64_t min, int64_t max);
  int64_t ExtremeInt(bool is_signed, int bits);
  double ExtremeDouble();
  bool Chance(double p);
  size_t Index(size_t n);

  std::mt19937_64 rng_;
  Hints hints_;
};

}  // namespace switchboard::fuzzing

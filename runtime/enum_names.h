// One list of names per enum: the text each enumerator is written as, used both to parse it
// and by the command line to list the choices (CLI11's IsMember), so a name is written once.
#pragma once

#include <string>
#include <vector>

#include "runtime/error.h"

namespace augur {

template <class E>
std::vector<std::string> enum_names(const std::vector<E>& all, const char* (*name)(E)) {
  std::vector<std::string> out;
  for (E e : all) out.push_back(name(e));
  return out;
}

// The enumerator called `text`; otherwise throws "unknown <what> 'text' (choices: a, b, c)".
template <class E>
E parse_enum(const std::string& text, const std::vector<E>& all, const char* (*name)(E),
             const char* what) {
  std::string choices;
  for (E e : all) {
    if (text == name(e)) return e;
    choices += (choices.empty() ? "" : ", ") + std::string(name(e));
  }
  throw Error("unknown " + std::string(what) + " '" + text + "' (choices: " + choices + ")");
}

}  // namespace augur

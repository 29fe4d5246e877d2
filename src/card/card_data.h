// The GET DATA objects the card builds from its state (the others are stored as personalised).
// Apart from card_state.h because gp/key_information.h and gp/put_key.h cannot be included
// in one translation unit (both define kKeyTypeDes / kKeyTypeAes).
#pragma once

#include "card/card_state.h"
#include "gp/card_recognition.h"
#include "gp/key_information.h"

namespace sekds::card {

// GET DATA 'E0': one basic 'C0' per key (ids 1, 2, 3) of each key set, by KVN.
gp::KeyInformation key_information(const CardState& s);
// GET DATA '66': GP 2.3.1, the card's SCP and i.
gp::CardRecognitionData card_recognition_data(const CardIdentity& id);

}  // namespace sekds::card

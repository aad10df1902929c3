-- The user's SDP offer of an inbound call, from Meta's connect webhook: GetCall gives it to the
-- agents it rings, who answer it (AnswerCall's sdp_answer). Cleared when the call ends.
ALTER TABLE calls ADD COLUMN user_sdp_offer text;

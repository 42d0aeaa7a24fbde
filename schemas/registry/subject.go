package registry

// ValueSubject returns the subject of a topic's record values under
// Confluent's TopicNameStrategy: "<topic>-value".
func ValueSubject(topic string) string { return topic + "-value" }

// KeySubject returns the subject of a topic's record keys under
// Confluent's TopicNameStrategy: "<topic>-key".
func KeySubject(topic string) string { return topic + "-key" }

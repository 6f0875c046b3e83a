import Control

func mosquittoVersion() -> String { MQTTClient.libraryVersion }
